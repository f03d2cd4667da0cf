package stream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaConfig configures a Kafka stream source.
type KafkaConfig struct {
	// Brokers are the seed brokers as host:port; at least one.
	Brokers []string
	// Topic is the topic read; it must exist (the reader never creates it).
	Topic string
	// MaxEvents is the upper bound of records in one batch; 0 means
	// DefaultKafkaMaxEvents.
	MaxEvents int
	// TmpDir is where batch files are written (created when missing); empty
	// means a fresh directory under os.TempDir, removed by Close.
	TmpDir string
	// Timeout bounds connecting and each metadata, offset or fetch call; 0
	// means DefaultKafkaTimeout.
	Timeout time.Duration
}

// DefaultKafkaMaxEvents is KafkaConfig.MaxEvents when it is zero.
const DefaultKafkaMaxEvents = 500000

// DefaultKafkaTimeout is KafkaConfig.Timeout when it is zero.
const DefaultKafkaTimeout = 10 * time.Second

// kafkaReader is the Reader of one Kafka topic. It reads partitions directly
// (no consumer group): the offsets it starts from are the committed
// positions it was created with, and the positions it hands out are only
// stored by the caller. Invariants: base holds the committed next offset of
// every partition ever committed; cur ≥ base partition by partition and holds
// where the next batch starts; files holds the batch files handed out and
// not yet committed or aborted.
type kafkaReader struct {
	cfg     KafkaConfig
	cl      *kgo.Client
	dec     kgo.Decompressor
	topicID [16]byte // from the latest metadata; fetches of version 13+ name the topic by ID
	tmpDir  string
	ownTmp  bool // tmpDir was created by the reader and is removed by Close

	base  map[int32]int64
	cur   map[int32]int64
	files map[string]bool
	seq   int

	closed bool
}

// NewKafka returns a Reader of cfg.Topic that starts every partition at its
// committed position (key "kafka:<topic>/<partition>"; keys of other
// sources are ignored), or at the start of the partition when it has none.
// It connects to the brokers and checks that the topic exists, within
// cfg.Timeout (or ctx).
//
// Each batch holds the records that arrived before the call to Next, up to
// MaxEvents, read with read-committed isolation (records of aborted
// transactions are skipped). When a partition's committed offset was
// already deleted by retention, the reader continues at the partition's
// oldest remaining record.
func NewKafka(ctx context.Context, cfg KafkaConfig, committed []Position) (Reader, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers configured — list at least one host:port in stream.kafka.brokers")
	}
	if cfg.Topic == "" {
		return nil, errors.New("kafka: no topic configured — set stream.kafka.topic")
	}
	if cfg.MaxEvents < 0 {
		return nil, fmt.Errorf("kafka: the batch limit %d is negative — use a positive number of events", cfg.MaxEvents)
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = DefaultKafkaMaxEvents
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultKafkaTimeout
	}
	r := &kafkaReader{
		cfg:   cfg,
		dec:   kgo.DefaultDecompressor(),
		base:  map[int32]int64{},
		cur:   map[int32]int64{},
		files: map[string]bool{},
	}
	for _, p := range committed {
		if part, ok := r.partitionOf(p.Key); ok {
			r.base[part] = p.Offset
			r.cur[part] = p.Offset
		}
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DialTimeout(cfg.Timeout),
		kgo.RetryTimeout(cfg.Timeout),
		kgo.RequestTimeoutOverhead(cfg.Timeout),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: invalid brokers %s: %v — list them as host:port in stream.kafka.brokers", r.brokers(), err)
	}
	r.cl = cl
	if _, err := r.metadata(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	if cfg.TmpDir == "" {
		dir, err := os.MkdirTemp("", "elt-kafka-")
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("kafka: cannot create a temporary directory: %v — set TMPDIR to a writable directory", err)
		}
		r.tmpDir, r.ownTmp = dir, true
	} else {
		dir, err := filepath.Abs(cfg.TmpDir)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("kafka: cannot create the batch directory %s: %v — make it writable", cfg.TmpDir, err)
		}
		r.tmpDir = dir
	}
	return r, nil
}

// key is the Position key of partition p.
func (r *kafkaReader) key(p int32) string {
	return "kafka:" + r.cfg.Topic + "/" + strconv.Itoa(int(p))
}

// partitionOf returns the partition of a Position key of this reader's
// topic, and false for any other key.
func (r *kafkaReader) partitionOf(key string) (int32, bool) {
	rest, ok := strings.CutPrefix(key, "kafka:"+r.cfg.Topic+"/")
	if !ok {
		return 0, false
	}
	p, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || p < 0 {
		return 0, false
	}
	return int32(p), true
}

func (r *kafkaReader) brokers() string { return strings.Join(r.cfg.Brokers, ",") }

// Next implements Reader. It lists the topic's partitions and their end
// offsets now, and reads every partition from its current position to that
// end offset, or until the batch holds MaxEvents records.
func (r *kafkaReader) Next(ctx context.Context) (*Batch, error) {
	if r.closed {
		return nil, errors.New("kafka: the reader is closed")
	}
	parts, err := r.listPartitions(ctx)
	if err != nil {
		return nil, err
	}
	var todo []*partRead
	for _, p := range parts {
		pos := p.start
		if c, ok := r.cur[p.id]; ok && c > p.start {
			pos = c
		}
		if pos > p.end {
			return nil, fmt.Errorf("kafka topic %s partition %d ends at offset %d but elt has read up to offset %d — the topic was deleted and recreated or lost data; clear the stream model's positions to read it again from the start", r.cfg.Topic, p.id, p.end, pos)
		}
		if pos < p.end {
			todo = append(todo, &partRead{id: p.id, leader: p.leader, pos: pos, end: p.end, started: pos})
		}
	}
	empty := &Batch{Format: "json"}
	if len(todo) == 0 {
		return empty, nil
	}
	w := &batchWriter{dir: r.tmpDir, pattern: fmt.Sprintf("kafka-%s-%d-*.jsonl", r.cfg.Topic, r.seq)}
	if err := r.fetch(ctx, todo, w); err != nil {
		w.discard()
		return nil, err
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	// Advance over what was read, also past control records and aborted
	// transactions when the batch holds no record.
	var positions []Position
	for _, pr := range todo {
		if pr.pos == pr.started {
			continue
		}
		r.cur[pr.id] = pr.pos
		positions = append(positions, Position{Key: r.key(pr.id), Offset: pr.pos})
	}
	if w.events == 0 {
		return empty, nil
	}
	r.seq++
	r.files[w.path] = true
	sort.Slice(positions, func(i, j int) bool { return positions[i].Key < positions[j].Key })
	return &Batch{
		Files:     []string{w.path},
		Format:    "json",
		Positions: positions,
		Events:    w.events,
		Oldest:    w.oldest,
	}, nil
}

// Commit implements Reader: b's positions become the base an Abort rewinds
// to, and b's file is removed.
func (r *kafkaReader) Commit(b *Batch) {
	if b == nil {
		return
	}
	for _, p := range b.Positions {
		if part, ok := r.partitionOf(p.Key); ok {
			r.base[part] = p.Offset
			if r.cur[part] < p.Offset {
				r.cur[part] = p.Offset
			}
		}
	}
	r.removeFiles(b.Files)
}

// Abort implements Reader: the next batch starts again at the committed
// base, and b's file is removed.
func (r *kafkaReader) Abort(b *Batch) {
	r.cur = make(map[int32]int64, len(r.base))
	for p, off := range r.base {
		r.cur[p] = off
	}
	if b != nil {
		r.removeFiles(b.Files)
	}
}

// removeFiles removes those of files that the reader wrote and still owns.
func (r *kafkaReader) removeFiles(files []string) {
	for _, f := range files {
		if r.files[f] {
			delete(r.files, f)
			_ = os.Remove(f)
		}
	}
}

// Close implements Reader: it closes the connections and removes the batch
// files still outstanding. Calling it again does nothing.
func (r *kafkaReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.cl.Close()
	var first error
	for f := range r.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = fmt.Errorf("kafka: cannot remove the batch file %s: %v — remove it by hand", f, err)
		}
	}
	r.files = map[string]bool{}
	if r.ownTmp {
		if err := os.RemoveAll(r.tmpDir); err != nil && first == nil {
			first = fmt.Errorf("kafka: cannot remove the temporary directory %s: %v — remove it by hand", r.tmpDir, err)
		}
	}
	return first
}

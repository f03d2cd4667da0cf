package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The reader talks to partition leaders with plain requests rather than
// through kgo's consumer: it needs to stop exactly at the end offsets listed
// at the start of a batch (past control records and compacted gaps, which a
// consumer does not report), and it must not prefetch records that a later
// Abort would have to throw away.

const (
	fetchMaxBytes     = 64 << 20 // per fetch response
	fetchPartMaxBytes = 16 << 20 // per partition in a fetch response
	stalledRounds     = 3        // fetch rounds without progress or error before a batch ends early
)

// partInfo is one partition of the topic as listed at the start of a batch.
type partInfo struct {
	id, leader int32
	start, end int64 // log start offset; last stable offset (end of committed records)
}

// partRead is the progress of one partition within a batch: pos is the next
// offset to read, moving from where it started towards end.
type partRead struct {
	id, leader int32
	pos, end   int64
	started    int64 // pos when the batch began
}

// topicMeta is the metadata of the topic: its ID and partition leaders.
type topicMeta struct {
	id      [16]byte
	leaders map[int32]int32 // partition → leader broker, -1 when it has none
}

// retryable marks an error worth retrying within the timeout (a leader
// moving, a partition being created).
type retryable struct{ err error }

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// withRetry calls fn until it succeeds, fails with an error that is not
// retryable, or the Timeout passes; it returns fn's last error.
func (r *kafkaReader) withRetry(ctx context.Context, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		err := fn(cctx)
		var re *retryable
		if err == nil || !errors.As(err, &re) {
			return err
		}
		select {
		case <-cctx.Done():
			return re.err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// requestErr turns the error of a request into a message: the caller's
// cancellation as is, anything else as brokers that cannot be reached.
func (r *kafkaReader) requestErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return fmt.Errorf("kafka: cannot reach brokers %s within %s (%v) — check stream.kafka.brokers and that Kafka is running", r.brokers(), r.cfg.Timeout, err)
}

// metadata returns the topic's metadata, or an error saying the brokers are
// unreachable or the topic does not exist.
func (r *kafkaReader) metadata(ctx context.Context) (*topicMeta, error) {
	var tm *topicMeta
	err := r.withRetry(ctx, func(ctx context.Context) error {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(r.cfg.Topic)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = false
		resp, err := req.RequestWith(ctx, r.cl)
		if err != nil {
			return r.requestErr(ctx, err)
		}
		for _, t := range resp.Topics {
			if t.Topic == nil || *t.Topic != r.cfg.Topic {
				continue
			}
			switch err := kerr.ErrorForCode(t.ErrorCode); {
			case errors.Is(err, kerr.UnknownTopicOrPartition):
				return fmt.Errorf("kafka topic %s does not exist on brokers %s — create it or fix stream.kafka.topic", r.cfg.Topic, r.brokers())
			case err != nil && kerr.IsRetriable(err):
				return &retryable{fmt.Errorf("kafka topic %s is not available on brokers %s (%v) — check the brokers' health and retry", r.cfg.Topic, r.brokers(), err)}
			case err != nil:
				return fmt.Errorf("kafka topic %s cannot be described by brokers %s (%v) — check the topic's ACLs and the brokers' health", r.cfg.Topic, r.brokers(), err)
			}
			tm = &topicMeta{id: t.TopicID, leaders: map[int32]int32{}}
			for _, p := range t.Partitions {
				leader := p.Leader
				if p.ErrorCode != 0 {
					leader = -1
				}
				tm.leaders[p.Partition] = leader
			}
			return nil
		}
		return fmt.Errorf("kafka topic %s does not exist on brokers %s — create it or fix stream.kafka.topic", r.cfg.Topic, r.brokers())
	})
	return tm, err
}

// listPartitions returns the topic's partitions that have a leader, with
// their end offsets and, for those without a position, their start offsets.
func (r *kafkaReader) listPartitions(ctx context.Context) ([]partInfo, error) {
	tm, err := r.metadata(ctx)
	if err != nil {
		return nil, err
	}
	r.topicID = tm.id
	var parts []partInfo
	var ids, needStart []int32
	for p, leader := range tm.leaders {
		if leader < 0 {
			continue // no leader now: read it when it has one again
		}
		ids = append(ids, p)
		if _, ok := r.cur[p]; !ok {
			needStart = append(needStart, p)
		}
	}
	ends, err := r.listOffsets(ctx, tm, ids, -1)
	if err != nil {
		return nil, err
	}
	starts, err := r.listOffsets(ctx, tm, needStart, -2)
	if err != nil {
		return nil, err
	}
	for _, p := range ids {
		parts = append(parts, partInfo{id: p, leader: tm.leaders[p], start: starts[p], end: ends[p]})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].id < parts[j].id })
	return parts, nil
}

// listOffsets returns the offsets of partitions at timestamp ts (-1: end of
// the committed records, -2: log start), asking each partition's leader.
func (r *kafkaReader) listOffsets(ctx context.Context, tm *topicMeta, parts []int32, ts int64) (map[int32]int64, error) {
	out := make(map[int32]int64, len(parts))
	if len(parts) == 0 {
		return out, nil
	}
	byLeader := map[int32][]int32{}
	for _, p := range parts {
		byLeader[tm.leaders[p]] = append(byLeader[tm.leaders[p]], p)
	}
	for leader, ps := range byLeader {
		err := r.withRetry(ctx, func(ctx context.Context) error {
			req := kmsg.NewPtrListOffsetsRequest()
			req.IsolationLevel = 1 // read committed: the last stable offset
			req.TimeoutMillis = int32(r.cfg.Timeout / time.Millisecond)
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = r.cfg.Topic
			for _, p := range ps {
				if _, done := out[p]; done {
					continue
				}
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition = p
				rp.Timestamp = ts
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
			kresp, err := r.cl.Broker(int(leader)).Request(ctx, req)
			if err != nil {
				return r.requestErr(ctx, err)
			}
			var retry error
			for _, t := range kresp.(*kmsg.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						perr := fmt.Errorf("kafka topic %s partition %d: listing its offsets failed (%v) — check the brokers' health and retry", r.cfg.Topic, p.Partition, err)
						if !kerr.IsRetriable(err) {
							return perr
						}
						retry = &retryable{perr}
						continue
					}
					out[p.Partition] = p.Offset
				}
			}
			return retry
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fetch reads the partitions of todo from pos towards end into w, stopping
// when w holds MaxEvents records. It refreshes leaders and retries when a
// leader moves; it ends early, without error, when no partition progresses
// for a few rounds.
func (r *kafkaReader) fetch(ctx context.Context, todo []*partRead, w *batchWriter) error {
	stalled := 0
	var lastErr error
	lastProgress := time.Now()
	for w.events < int64(r.cfg.MaxEvents) {
		byLeader := map[int32][]*partRead{}
		var leaders []int32
		for _, pr := range todo {
			if pr.pos >= pr.end || pr.leader < 0 {
				continue
			}
			if byLeader[pr.leader] == nil {
				leaders = append(leaders, pr.leader)
			}
			byLeader[pr.leader] = append(byLeader[pr.leader], pr)
		}
		if len(leaders) == 0 {
			return nil // partitions without a leader wait for the next batch
		}
		sort.Slice(leaders, func(i, j int) bool { return leaders[i] < leaders[j] })
		progressed := false
		lastErr = nil
		for _, leader := range leaders {
			p, err := r.fetchFrom(ctx, leader, byLeader[leader], w)
			if err != nil {
				var re *retryable
				if !errors.As(err, &re) {
					return err
				}
				lastErr = re.err
			}
			progressed = progressed || p
			if w.events >= int64(r.cfg.MaxEvents) {
				return nil
			}
		}
		if progressed {
			stalled, lastProgress = 0, time.Now()
			continue
		}
		if lastErr == nil {
			if stalled++; stalled >= stalledRounds {
				return nil
			}
			continue
		}
		if time.Since(lastProgress) > r.cfg.Timeout {
			return lastErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		if err := r.refresh(ctx, todo); err != nil {
			return err
		}
	}
	return nil
}

// refresh updates the leaders of todo, and moves positions that retention
// deleted to the partition's log start.
func (r *kafkaReader) refresh(ctx context.Context, todo []*partRead) error {
	tm, err := r.metadata(ctx)
	if err != nil {
		return err
	}
	var ids []int32
	for _, pr := range todo {
		pr.leader = -1
		if l, ok := tm.leaders[pr.id]; ok {
			pr.leader = l
		}
		if pr.leader >= 0 && pr.pos < pr.end {
			ids = append(ids, pr.id)
		}
	}
	starts, err := r.listOffsets(ctx, tm, ids, -2)
	if err != nil {
		return err
	}
	for _, pr := range todo {
		if s, ok := starts[pr.id]; ok && s > pr.pos {
			pr.pos = min(s, pr.end)
		}
	}
	return nil
}

// fetchFrom issues one fetch for parts to their leader and writes the
// records below each partition's end to w. It reports whether any position
// moved; partition errors a retry may cure are returned as *retryable.
func (r *kafkaReader) fetchFrom(ctx context.Context, leader int32, parts []*partRead, w *batchWriter) (bool, error) {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 0
	req.MinBytes = 1
	req.MaxBytes = fetchMaxBytes
	req.IsolationLevel = 1
	req.SessionID = 0
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = r.cfg.Topic
	rt.TopicID = r.topicID
	byID := map[int32]*partRead{}
	for _, pr := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = pr.id
		rp.FetchOffset = pr.pos
		rp.PartitionMaxBytes = fetchPartMaxBytes
		rt.Partitions = append(rt.Partitions, rp)
		byID[pr.id] = pr
	}
	req.Topics = append(req.Topics, rt)

	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	kresp, err := r.cl.Broker(int(leader)).Request(cctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, &retryable{r.requestErr(cctx, err)}
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return false, &retryable{fmt.Errorf("kafka topic %s: fetching from broker %d failed (%v) — check the brokers' health and retry", r.cfg.Topic, leader, err)}
	}
	progressed := false
	var retry error
	for _, t := range resp.Topics {
		for i := range t.Partitions {
			rp := &t.Partitions[i]
			pr := byID[rp.Partition]
			if pr == nil {
				continue
			}
			fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset:         pr.pos,
				IsolationLevel: kgo.ReadCommitted(),
				Topic:          r.cfg.Topic,
				Partition:      pr.id,
			}, rp, r.dec, nil)
			if fp.Err != nil {
				perr := fmt.Errorf("kafka topic %s partition %d: reading offset %d failed (%v) — check the brokers' health and retry", r.cfg.Topic, pr.id, pr.pos, fp.Err)
				if !errors.Is(fp.Err, kerr.OffsetOutOfRange) && !kerr.IsRetriable(fp.Err) {
					return progressed, perr
				}
				retry = &retryable{perr}
				continue
			}
			before := pr.pos
			full := false
			for _, rec := range fp.Records {
				if rec.Offset >= pr.end {
					break
				}
				if w.events >= int64(r.cfg.MaxEvents) {
					full = true
					break
				}
				if err := w.add(r.cfg.Topic, rec); err != nil {
					return progressed, err
				}
				pr.pos = rec.Offset + 1
			}
			if !full && next > pr.pos {
				pr.pos = min(next, pr.end)
			}
			progressed = progressed || pr.pos != before
		}
	}
	return progressed, retry
}

// batchWriter writes record values to one newline-delimited JSON file,
// created on the first record.
type batchWriter struct {
	dir, pattern string
	path         string
	f            *os.File
	bw           *bufio.Writer
	buf          bytes.Buffer
	events       int64
	oldest       time.Time
}

// add appends rec's value as one line, or returns an error naming the
// record when the value is not a JSON object.
func (w *batchWriter) add(topic string, rec *kgo.Record) error {
	w.buf.Reset()
	err := json.Compact(&w.buf, rec.Value)
	if err == nil && (w.buf.Len() == 0 || w.buf.Bytes()[0] != '{') {
		err = errors.New("it is not an object")
	}
	if err != nil {
		return fmt.Errorf("kafka topic %s partition %d offset %d: the record value %s is not a JSON object (%v) — make the producer write one JSON object per record, or delete the record from the topic", topic, rec.Partition, rec.Offset, snippet(rec.Value), err)
	}
	if w.f == nil {
		f, err := os.CreateTemp(w.dir, w.pattern)
		if err != nil {
			return fmt.Errorf("kafka: cannot create a batch file in %s: %v — make the directory writable", w.dir, err)
		}
		w.f, w.path, w.bw = f, f.Name(), bufio.NewWriterSize(f, 1<<20)
	}
	w.buf.WriteByte('\n')
	if _, err := w.bw.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("kafka: cannot write the batch file %s: %v — free disk space", w.path, err)
	}
	w.events++
	if ts := rec.Timestamp; ts.UnixMilli() > 0 && (w.oldest.IsZero() || ts.Before(w.oldest)) {
		w.oldest = ts
	}
	return nil
}

// finish flushes and closes the file; on error the file is removed.
func (w *batchWriter) finish() error {
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err != nil {
		_ = os.Remove(w.path)
		return fmt.Errorf("kafka: cannot write the batch file %s: %v — free disk space", w.path, err)
	}
	return nil
}

// discard closes and removes the file.
func (w *batchWriter) discard() {
	if w.f != nil {
		_ = w.f.Close()
		_ = os.Remove(w.path)
		w.f = nil
	}
}

// snippet quotes the start of a record value for an error message.
func snippet(v []byte) string {
	const limit = 60
	if v == nil {
		return "null"
	}
	if len(v) > limit {
		return fmt.Sprintf("%q…", v[:limit])
	}
	return fmt.Sprintf("%q", v)
}

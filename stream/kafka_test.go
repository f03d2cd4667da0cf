package stream

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const kafkaTopic = "purchases"

// kafkaEnv is an in-process broker with a 3-partition topic and a producer.
type kafkaEnv struct {
	t     *testing.T
	c     *kfake.Cluster
	addrs []string
	prod  *kgo.Client
	n     int // records produced so far, used to make values unique
}

func newKafkaEnv(t *testing.T) *kafkaEnv {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, kafkaTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e := &kafkaEnv{t: t, c: c, addrs: c.ListenAddrs()}
	e.newProducer()
	return e
}

// newProducer replaces the producer, which then knows the topic's current
// partitions.
func (e *kafkaEnv) newProducer() {
	e.t.Helper()
	prod, err := kgo.NewClient(
		kgo.SeedBrokers(e.addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(kafkaTopic),
	)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(prod.Close)
	e.prod = prod
}

// produce writes n records to each of partitions and returns their values.
// Values are compact JSON objects; record i of the whole test has the
// timestamp 2024-01-01 + i minutes.
func (e *kafkaEnv) produce(n int, partitions ...int32) []string {
	e.t.Helper()
	var vals []string
	for i := 0; i < n; i++ {
		for _, p := range partitions {
			e.n++
			v := fmt.Sprintf(`{"id":%d,"partition":%d}`, e.n, p)
			e.produceRaw(p, v, kafkaTime(e.n))
			vals = append(vals, v)
		}
	}
	return vals
}

func kafkaTime(i int) time.Time {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
}

func (e *kafkaEnv) produceRaw(p int32, value string, ts time.Time) {
	e.t.Helper()
	rec := &kgo.Record{Partition: p, Value: []byte(value), Timestamp: ts}
	if err := e.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *kafkaEnv) reader(cfg KafkaConfig, committed []Position) *kafkaReader {
	e.t.Helper()
	cfg.Brokers = e.addrs
	if cfg.Topic == "" {
		cfg.Topic = kafkaTopic
	}
	if cfg.TmpDir == "" {
		cfg.TmpDir = e.t.TempDir()
	}
	r, err := NewKafka(context.Background(), cfg, committed)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = r.Close() })
	return r.(*kafkaReader)
}

// next calls Next and checks the batch's shape: one file holding exactly
// Events lines, or no file when empty.
func kafkaNext(t *testing.T, r Reader) (*Batch, []string) {
	t.Helper()
	b, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Format != "json" {
		t.Fatalf("Format = %q, want json", b.Format)
	}
	if b.Empty() {
		if b.Events != 0 || len(b.Positions) != 0 {
			t.Fatalf("empty batch with %d events and positions %v", b.Events, b.Positions)
		}
		return b, nil
	}
	if len(b.Files) != 1 || !filepath.IsAbs(b.Files[0]) {
		t.Fatalf("Files = %v, want one absolute path", b.Files)
	}
	data, err := os.ReadFile(b.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("batch file does not end with a newline: %q", data)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if int64(len(lines)) != b.Events {
		t.Fatalf("Events = %d but the file has %d lines", b.Events, len(lines))
	}
	return b, lines
}

// sameSet fails unless got and want hold the same lines, each once.
func kafkaSameSet(t *testing.T, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("batch lines:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func kafkaPositions(pairs ...int64) []Position {
	var ps []Position
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, Position{Key: fmt.Sprintf("kafka:%s/%d", kafkaTopic, pairs[i]), Offset: pairs[i+1]})
	}
	return ps
}

func TestKafkaReadsWhatArrivedThenOnlyNew(t *testing.T) {
	e := newKafkaEnv(t)
	want := e.produce(4, 0, 1, 2) // 4 records in each partition
	r := e.reader(KafkaConfig{}, nil)

	b, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, want)
	if !slices.Equal(b.Positions, kafkaPositions(0, 4, 1, 4, 2, 4)) {
		t.Fatalf("Positions = %v", b.Positions)
	}
	if !b.Oldest.Equal(kafkaTime(1)) {
		t.Fatalf("Oldest = %v, want %v", b.Oldest, kafkaTime(1))
	}
	if base := filepath.Base(b.Files[0]); !strings.HasPrefix(base, "kafka-purchases-") || !strings.HasSuffix(base, ".jsonl") {
		t.Fatalf("batch file name %s", base)
	}
	r.Commit(b)
	if _, err := os.Stat(b.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("Commit left the batch file: %v", err)
	}

	more := e.produce(2, 1)
	b2, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, more)
	if !slices.Equal(b2.Positions, kafkaPositions(1, 6)) {
		t.Fatalf("second batch Positions = %v, want only partition 1", b2.Positions)
	}
	if !b2.Oldest.Equal(kafkaTime(13)) {
		t.Fatalf("second batch Oldest = %v, want %v", b2.Oldest, kafkaTime(13))
	}
	if b2.Files[0] == b.Files[0] {
		t.Fatalf("two batches share the file %s", b.Files[0])
	}
	r.Commit(b2)

	start := time.Now()
	b3, _ := kafkaNext(t, r)
	if !b3.Empty() {
		t.Fatalf("nothing new, got %d events", b3.Events)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("an empty Next took %s", d)
	}
}

func TestKafkaEmptyTopicIsFast(t *testing.T) {
	e := newKafkaEnv(t)
	r := e.reader(KafkaConfig{}, nil)
	for i := 0; i < 3; i++ {
		start := time.Now()
		b, _ := kafkaNext(t, r)
		if !b.Empty() {
			t.Fatalf("empty topic gave %d events", b.Events)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("an empty Next took %s", d)
		}
	}
	entries, _ := os.ReadDir(r.tmpDir)
	if len(entries) != 0 {
		t.Fatalf("empty batches left files: %v", entries)
	}
}

func TestKafkaAbortRedelivers(t *testing.T) {
	e := newKafkaEnv(t)
	first := e.produce(3, 0, 1, 2)
	r := e.reader(KafkaConfig{}, nil)
	b, _ := kafkaNext(t, r)
	r.Commit(b)

	want := e.produce(2, 0, 2)
	b, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, want)
	r.Abort(b)
	if _, err := os.Stat(b.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("Abort left the batch file: %v", err)
	}
	b, lines = kafkaNext(t, r)
	kafkaSameSet(t, lines, want)
	if !slices.Equal(b.Positions, kafkaPositions(0, 5, 2, 5)) {
		t.Fatalf("Positions = %v", b.Positions)
	}

	// Aborted again, with more arriving meanwhile: the same records and the new.
	r.Abort(b)
	more := e.produce(1, 1)
	_, lines = kafkaNext(t, r)
	kafkaSameSet(t, lines, append(slices.Clone(want), more...))
	for _, l := range lines {
		if slices.Contains(first, l) {
			t.Fatalf("committed record %s delivered again", l)
		}
	}
}

func TestKafkaRestartFromCommitted(t *testing.T) {
	e := newKafkaEnv(t)
	e.produce(5, 0, 1, 2)
	r := e.reader(KafkaConfig{}, nil)
	b, _ := kafkaNext(t, r)
	r.Commit(b)
	committed := b.Positions
	// A batch read but never committed (the process died): not in committed.
	e.produce(1, 0)
	if b, _ := kafkaNext(t, r); b.Events != 1 {
		t.Fatalf("uncommitted batch has %d events", b.Events)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	more := e.produce(2, 2)
	others := []Position{
		{Key: "kafka:other/0", Offset: 100},
		{Key: "kafka:purchases_v2/1", Offset: 100},
		{Key: "data/landing/a.jsonl", Offset: 7},
	}
	r2 := e.reader(KafkaConfig{}, append(slices.Clone(committed), others...))
	b, lines := kafkaNext(t, r2)
	want := append([]string{fmt.Sprintf(`{"id":%d,"partition":0}`, 16)}, more...)
	kafkaSameSet(t, lines, want)
	if !slices.Equal(b.Positions, kafkaPositions(0, 6, 2, 7)) {
		t.Fatalf("Positions = %v", b.Positions)
	}
}

func TestKafkaStartsAtCommittedOffset(t *testing.T) {
	e := newKafkaEnv(t)
	vals := e.produce(4, 1) // offsets 0..3 of partition 1
	r := e.reader(KafkaConfig{}, kafkaPositions(1, 3))
	_, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, vals[3:])
}

func TestKafkaMaxEvents(t *testing.T) {
	e := newKafkaEnv(t)
	want := e.produce(9, 0, 1, 2) // 27 records
	r := e.reader(KafkaConfig{MaxEvents: 10}, nil)
	var got []string
	var sizes []int64
	for i := 0; i < 5; i++ {
		b, lines := kafkaNext(t, r)
		if b.Empty() {
			break
		}
		sizes = append(sizes, b.Events)
		got = append(got, lines...)
		if i == 1 {
			// Handed out but not committed: the next batch follows it anyway.
			continue
		}
		r.Commit(b)
	}
	if !slices.Equal(sizes, []int64{10, 10, 7}) {
		t.Fatalf("batch sizes %v, want [10 10 7]", sizes)
	}
	kafkaSameSet(t, got, want)
}

func TestKafkaMaxEventsThenAbort(t *testing.T) {
	e := newKafkaEnv(t)
	e.produce(4, 0, 1, 2)
	r := e.reader(KafkaConfig{MaxEvents: 5}, nil)
	b1, l1 := kafkaNext(t, r)
	r.Commit(b1)
	b2, l2 := kafkaNext(t, r)
	r.Abort(b2)
	b3, l3 := kafkaNext(t, r)
	if !slices.Equal(l2, l3) || !slices.Equal(b2.Positions, b3.Positions) {
		t.Fatalf("after Abort got %v at %v, want %v at %v", l3, b3.Positions, l2, b2.Positions)
	}
	for _, l := range l3 {
		if slices.Contains(l1, l) {
			t.Fatalf("committed record %s delivered again", l)
		}
	}
}

func TestKafkaInvalidValue(t *testing.T) {
	for _, tc := range []struct{ name, value, reason string }{
		{"syntax", `{"id": 1,`, "unexpected end of JSON input"},
		{"not an object", `[1, 2]`, "not an object"},
		{"empty", ``, "unexpected end of JSON input"},
		{"two objects", `{"a":1} {"b":2}`, "after top-level value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newKafkaEnv(t)
			e.produce(2, 0, 2)
			e.produceRaw(2, tc.value, kafkaTime(99))
			r := e.reader(KafkaConfig{}, nil)
			_, err := r.Next(context.Background())
			if err == nil {
				t.Fatal("Next accepted an invalid value")
			}
			msg := err.Error()
			for _, s := range []string{"topic purchases partition 2 offset 2", "not a JSON object", tc.reason, "— make the producer"} {
				if !strings.Contains(msg, s) {
					t.Fatalf("error %q does not contain %q", msg, s)
				}
			}
			if entries, _ := os.ReadDir(r.tmpDir); len(entries) != 0 {
				t.Fatalf("failed batch left files: %v", entries)
			}
			// Nothing was handed out: the same error again.
			if _, err2 := r.Next(context.Background()); err2 == nil || err2.Error() != msg {
				t.Fatalf("second Next: %v, want %q", err2, msg)
			}
		})
	}
}

func TestKafkaCompactsPrettyValues(t *testing.T) {
	e := newKafkaEnv(t)
	e.produceRaw(0, "\n  {\n  \"id\": 1,\n  \"tags\": [ \"a b\",\n \"c\" ],\n  \"s\": \"x\\ny\"\n}\n", kafkaTime(1))
	e.produceRaw(1, `{"id":2}`, kafkaTime(2))
	r := e.reader(KafkaConfig{}, nil)
	_, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, []string{`{"id":1,"tags":["a b","c"],"s":"x\ny"}`, `{"id":2}`})
}

func TestKafkaNewPartition(t *testing.T) {
	e := newKafkaEnv(t)
	e.produce(1, 0, 1, 2)
	r := e.reader(KafkaConfig{}, nil)
	b, _ := kafkaNext(t, r)
	r.Commit(b)

	adm := kadm.NewClient(e.prod)
	if _, err := adm.CreatePartitions(context.Background(), 1, kafkaTopic); err != nil {
		t.Fatal(err)
	}
	e.newProducer()
	want := e.produce(2, 3)
	b, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, want)
	if !slices.Equal(b.Positions, kafkaPositions(3, 2)) {
		t.Fatalf("Positions = %v", b.Positions)
	}
}

func TestKafkaUnknownTopic(t *testing.T) {
	e := newKafkaEnv(t)
	_, err := NewKafka(context.Background(), KafkaConfig{Brokers: e.addrs, Topic: "orders", TmpDir: t.TempDir()}, nil)
	want := fmt.Sprintf("kafka topic orders does not exist on brokers %s — create it or fix stream.kafka.topic", strings.Join(e.addrs, ","))
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestKafkaConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  KafkaConfig
		want string
	}{
		{KafkaConfig{Topic: "t"}, "list at least one host:port in stream.kafka.brokers"},
		{KafkaConfig{Brokers: []string{"127.0.0.1:1"}}, "set stream.kafka.topic"},
		{KafkaConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", MaxEvents: -1}, "negative"},
	} {
		_, err := NewKafka(context.Background(), tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
}

func TestKafkaUnreachable(t *testing.T) {
	// A port nothing listens on, and a listener that accepts but never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, addr := range []string{refused, silent.Addr().String()} {
		start := time.Now()
		_, err := NewKafka(context.Background(), KafkaConfig{Brokers: []string{addr}, Topic: kafkaTopic, Timeout: 500 * time.Millisecond, TmpDir: t.TempDir()}, nil)
		d := time.Since(start)
		if err == nil {
			t.Fatalf("%s: no error", addr)
		}
		want := "kafka: cannot reach brokers " + addr + " within 500ms"
		if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "— check stream.kafka.brokers and that Kafka is running") {
			t.Fatalf("%s: err = %q", addr, err)
		}
		if d > 2*time.Second {
			t.Fatalf("%s: took %s with a 500ms timeout", addr, d)
		}
	}
}

func TestKafkaCanceledContext(t *testing.T) {
	e := newKafkaEnv(t)
	r := e.reader(KafkaConfig{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestKafkaCloseRemovesFiles(t *testing.T) {
	e := newKafkaEnv(t)
	e.produce(1, 0)
	dir := filepath.Join(t.TempDir(), "batches", "new") // created by the reader
	r := e.reader(KafkaConfig{TmpDir: dir}, nil)
	b, _ := kafkaNext(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Files[0]); !os.IsNotExist(err) {
		t.Fatalf("Close left the batch file: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Next(context.Background()); err == nil {
		t.Fatal("Next after Close succeeded")
	}

	// Without TmpDir the reader makes its own directory and removes it.
	own, err := NewKafka(context.Background(), KafkaConfig{Brokers: e.addrs, Topic: kafkaTopic}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := own.(*kafkaReader).tmpDir
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
	if err := own.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("Close left its temporary directory: %v", err)
	}
}

func TestKafkaSkipsAbortedTransactions(t *testing.T) {
	e := newKafkaEnv(t)
	txn, err := kgo.NewClient(
		kgo.SeedBrokers(e.addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(kafkaTopic),
		kgo.TransactionalID("elt-test"),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	ctx := context.Background()
	produceTxn := func(commit bool, value string) {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	produceTxn(true, `{"txn":"committed"}`)
	produceTxn(false, `{"txn":"aborted"}`)
	r := e.reader(KafkaConfig{}, nil)
	b, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, []string{`{"txn":"committed"}`})
	r.Commit(b)
	// The partition ends with an abort marker: reading past it neither hangs
	// nor delivers anything.
	start := time.Now()
	if b, _ := kafkaNext(t, r); !b.Empty() {
		t.Fatalf("got %d events after the aborted transaction", b.Events)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Next took %s", d)
	}
}

// TestKafkaReadsUpToListedEnd has the brokers list end offsets below what
// the partitions hold, as when records arrive between listing and fetching:
// the batch stops at the listed ends and the rest comes next.
func TestKafkaReadsUpToListedEnd(t *testing.T) {
	e := newKafkaEnv(t)
	vals := e.produce(5, 0, 1, 2)
	var capped atomic.Bool
	capped.Store(true)
	e.c.ControlKey(int16(kmsg.ListOffsets), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		req := kr.(*kmsg.ListOffsetsRequest)
		if !capped.Load() || req.Topics[0].Partitions[0].Timestamp != -1 {
			return nil, nil, false
		}
		e.c.KeepControl()
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewListOffsetsResponseTopic()
			t.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				p := kmsg.NewListOffsetsResponseTopicPartition()
				p.Partition, p.Offset = rp.Partition, 3
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
	r := e.reader(KafkaConfig{}, nil)
	b, lines := kafkaNext(t, r)
	if !slices.Equal(b.Positions, kafkaPositions(0, 3, 1, 3, 2, 3)) {
		t.Fatalf("Positions = %v", b.Positions)
	}
	kafkaSameSet(t, lines, vals[:9]) // the first 3 rounds of produce: offsets 0..2
	r.Commit(b)
	capped.Store(false)
	_, lines = kafkaNext(t, r)
	kafkaSameSet(t, lines, vals[9:])
}

// failFetches makes the next n fetches answer NOT_LEADER_OR_FOLLOWER for
// every partition.
func (e *kafkaEnv) failFetches(n int) {
	var left atomic.Int64
	left.Store(int64(n))
	e.c.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if left.Add(-1) < 0 {
			e.c.DropControl()
			return nil, nil, false
		}
		e.c.KeepControl()
		req := kr.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			t := kmsg.NewFetchResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition = rp.Partition
				p.ErrorCode = 6 // NOT_LEADER_OR_FOLLOWER
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
}

func TestKafkaRetriesMovedLeader(t *testing.T) {
	e := newKafkaEnv(t)
	want := e.produce(2, 0, 1, 2)
	r := e.reader(KafkaConfig{}, nil)
	e.failFetches(2)
	_, lines := kafkaNext(t, r)
	kafkaSameSet(t, lines, want)
}

func TestKafkaGivesUpOnLeaderErrors(t *testing.T) {
	e := newKafkaEnv(t)
	e.produce(2, 0, 1, 2)
	r := e.reader(KafkaConfig{Timeout: 300 * time.Millisecond}, nil)
	e.failFetches(1 << 30)
	start := time.Now()
	_, err := r.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "NOT_LEADER_FOR_PARTITION") || !strings.Contains(err.Error(), "kafka topic purchases partition ") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %s with a 300ms timeout", d)
	}
	if entries, _ := os.ReadDir(r.tmpDir); len(entries) != 0 {
		t.Fatalf("failed batch left files: %v", entries)
	}
}

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/elt-dev/elt/warehouse"
)

// streamProject is a project with a landing-folder stream of purchases,
// a 10-minute window model with a 20-minute watermark, and an ordinary
// table downstream of it. kafka, when not empty, adds a Kafka stream
// source on those brokers and a stateless stream model over it.
func streamProject(t *testing.T, kafka string) string {
	files := map[string]string{
		"project.yaml": "name: streams\ntargets:\n  dev: {path: target/streams.duckdb}\n",
		"models/sources.yml": `sources:
  - name: live
    tables:
      - name: purchases
        event_time: event_ts
        stream: {path: landing/purchases/*.jsonl, settle: 200ms}
        columns:
          - {name: user_id, data_type: BIGINT}
          - {name: amount, data_type: DOUBLE}
          - {name: event_ts, data_type: TIMESTAMP}
`,
		"models/purchases_10m.sql": `{{ config(materialized='stream', event_time='window_start', unique_key=['user_id', 'window_start'],
          watermark='20 minutes', quarantine=[{'name': 'negative_amount', 'condition': 'amount >= 0'}]) }}
select user_id, time_bucket(interval 10 minute, event_ts) as window_start,
       count(*) as purchases_10m, sum(amount) as amount_10m, count(distinct amount) as distinct_amounts
from {{ source('live', 'purchases') }}
group by all
`,
		"models/user_peaks.sql": "{{ config(materialized='table') }}\nselect user_id, max(purchases_10m) as peak from {{ ref('purchases_10m') }} group by all\n",
	}
	if kafka != "" {
		files["models/sources.yml"] += `      - name: clicks
        event_time: ts
        stream: {kafka: {brokers: ["` + kafka + `"], topic: clicks}}
`
		files["models/clicks.sql"] = "{{ config(materialized='stream', unique_key='click_id') }}\nselect click_id, user_id, ts from {{ source('live', 'clicks') }}\n"
	}
	return writeProject(t, files)
}

// land writes a landing file of purchases (user, minute after 10:00,
// amount), old enough to have settled.
func land(t *testing.T, dir, name string, events ...[3]int) {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, `{"user_id": %d, "amount": %d, "event_ts": "2026-01-01 %02d:%02d:00"}`+"\n", e[0], e[2], 10+e[1]/60, e[1]%60)
	}
	landRaw(t, dir, name, b.String(), time.Minute)
}

func landRaw(t *testing.T, dir, name, content string, age time.Duration) {
	t.Helper()
	p := filepath.Join(dir, "landing", "purchases", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// editFile replaces the first old in the file at path with new; an old
// that is not there fails the test.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// elt runs elt in-process on dir and returns its exit code and output.
func elt(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := MainContext(context.Background(), append(args, "--project-dir", dir, "--no-color"), strings.NewReader(""), &out, &out)
	return code, out.String()
}

func mustElt(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, out := elt(t, dir, args...)
	if code != 0 {
		t.Fatalf("elt %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// streamRows returns the rows of q on the streams project's database.
func streamRows(t *testing.T, dir, q string) string {
	t.Helper()
	db, err := warehouse.Open(context.Background(), filepath.Join(dir, "target", "streams.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var lines []string
	for _, r := range res.Rows {
		var cells []string
		for _, c := range r {
			if tm, ok := c.(time.Time); ok {
				cells = append(cells, tm.Format("15:04"))
				continue
			}
			cells = append(cells, fmt.Sprint(c))
		}
		lines = append(lines, strings.Join(cells, " "))
	}
	return strings.Join(lines, "\n")
}

const windowsQuery = "select user_id, window_start, purchases_10m, amount_10m, distinct_amounts from purchases_10m order by all"

func expectRows(t *testing.T, dir, q, want string) {
	t.Helper()
	if got := streamRows(t, dir, q); got != strings.TrimSpace(want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", q, got, strings.TrimSpace(want))
	}
}

// TestStreamWindowsWatermarkAndLateEvents drives elt stream --once
// through in-order, out-of-order and late events, an empty batch and a
// partially written file, checking every window against its events.
func TestStreamWindowsWatermarkAndLateEvents(t *testing.T) {
	dir := streamProject(t, "")
	// Nothing has landed: the model is created empty from the declared columns.
	out := mustElt(t, dir, "run")
	if !strings.Contains(out, "PASS=2") {
		t.Fatalf("first run:\n%s", out)
	}
	expectRows(t, dir, "select count(*) from purchases_10m", "0")

	land(t, dir, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 3, 5}, [3]int{1, 9, 7}, [3]int{2, 5, 1})
	out = mustElt(t, dir, "stream", "--once")
	if !strings.Contains(out, "purchases_10m: 1 file, 4 events") {
		t.Fatalf("batch line missing:\n%s", out)
	}
	expectRows(t, dir, windowsQuery, `
1 10:00 3 17 2
2 10:00 1 1 1`)

	// 10:45 moves the watermark: newest 10:45 − 20 minutes = 10:25, so the
	// windows before 10:20 are final. 10:31 arrives with it.
	land(t, dir, "002.jsonl", [3]int{1, 45, 2}, [3]int{2, 31, 4})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select max_event_time, late_before, events, late_events, batches from elt_state.stream_watermarks", "10:45 10:20 6 0 3") // the first run created the model empty in a batch
	// Retained events: only those of open windows (from 10:20 on).
	expectRows(t, dir, `select count(*), min(event_ts) from elt_state."stream:main.purchases_10m"`, "2 10:31")

	// Late beyond the watermark (10:05: its window is final), late but
	// inside it (10:22, 10:33: out of order, windows still open), and a
	// row failing a quarantine rule.
	land(t, dir, "003.jsonl", [3]int{1, 5, 9}, [3]int{1, 22, 3}, [3]int{2, 33, 4}, [3]int{2, 34, -1})
	out = mustElt(t, dir, "stream", "--once")
	if !strings.Contains(out, "2 quarantined (1 late)") {
		t.Fatalf("late event not reported:\n%s", out)
	}
	expectRows(t, dir, windowsQuery, `
1 10:00 3 17 2
1 10:20 1 3 1
1 10:40 1 2 1
2 10:00 1 1 1
2 10:30 2 8 1`)
	expectRows(t, dir, "select user_id, event_ts, elt_reason from purchases_10m__quarantine order by all", `
1 10:05 late
2 10:34 negative_amount`)

	// An empty batch changes nothing, and a rerun reads no file twice.
	before := streamRows(t, dir, windowsQuery)
	out = mustElt(t, dir, "stream", "--once")
	if strings.Contains(out, "events") {
		t.Fatalf("an empty batch reported events:\n%s", out)
	}
	if after := streamRows(t, dir, windowsQuery); after != before {
		t.Fatalf("an empty batch changed the windows:\n%s\n→\n%s", before, after)
	}

	// A file still being written (no final newline, just modified) is not
	// read; once finished it is, exactly once.
	landRaw(t, dir, "004.jsonl", `{"user_id": 3, "amount": 1, "event_ts": "2026-01-01 10:50:00"}`+"\n"+`{"user_id": 3, "amo`, 0)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select count(*) from purchases_10m where user_id = 3", "0")
	landRaw(t, dir, "004.jsonl", `{"user_id": 3, "amount": 1, "event_ts": "2026-01-01 10:50:00"}`+"\n"+
		`{"user_id": 3, "amount": 2, "event_ts": "2026-01-01 10:51:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select purchases_10m, amount_10m from purchases_10m where user_id = 3", "2 3")
	expectRows(t, dir, "select count(*) from elt_state.stream_positions", "4")

	// The downstream table reads the stream model like any table.
	mustElt(t, dir, "run", "-s", "user_peaks")
	expectRows(t, dir, "select * from user_peaks order by all", "1 3\n2 2\n3 2")

	// A full refresh reads everything again from the start: 001..004 in
	// one batch, so no event is late and 10:05 lands in its window.
	mustElt(t, dir, "stream", "--once", "--full-refresh")
	expectRows(t, dir, "select purchases_10m from purchases_10m where user_id = 1 and window_start = '2026-01-01 10:00'", "4")
	expectRows(t, dir, "select count(*) from purchases_10m__quarantine", "1")
}

// TestStreamBadInputLosesNothing: a malformed line fails its batch with
// the file named; nothing of the batch is committed, and once the file is
// fixed the next batch reads it.
func TestStreamBadInputLosesNothing(t *testing.T) {
	dir := streamProject(t, "")
	land(t, dir, "001.jsonl", [3]int{1, 0, 5})
	mustElt(t, dir, "stream", "--once")
	landRaw(t, dir, "002.jsonl", `{"user_id": 1, "amount": 5, "event_ts": "2026-01-01 10:01:00"}`+"\n"+`{"user_id": "x", oops}`+"\n", time.Minute)
	code, out := elt(t, dir, "stream", "--once")
	if code != 1 || !strings.Contains(out, "batch of file landing/purchases/002.jsonl") || !strings.Contains(out, "nothing of it was committed") {
		t.Fatalf("exit %d, want 1 naming the file:\n%s", code, out)
	}
	expectRows(t, dir, "select purchases_10m from purchases_10m", "1")
	land(t, dir, "002.jsonl", [3]int{1, 1, 5})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select purchases_10m from purchases_10m", "2")
}

// TestStreamExactlyOnceThroughSIGKILL kills elt inside a batch's
// transaction and right after its commit; reruns end with exactly the
// windows of one clean pass over the same files.
func TestStreamExactlyOnceThroughSIGKILL(t *testing.T) {
	landAll := func(dir string) {
		for i := 0; i < 6; i++ {
			var evs [][3]int
			for j := 0; j < 50; j++ {
				evs = append(evs, [3]int{j % 7, i*3 + j%5, j % 4})
			}
			land(t, dir, fmt.Sprintf("%03d.jsonl", i), evs...)
		}
	}
	clean := streamProject(t, "")
	landAll(clean)
	mustElt(t, clean, "stream", "--once")
	want := streamRows(t, clean, windowsQuery)
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("too few windows to compare:\n%s", want)
	}

	// Three batches of two files each; the kill comes in the second.
	for _, point := range []string{"stream-before-commit@2", "stream-after-commit@2"} {
		t.Run(point, func(t *testing.T) {
			dir := streamProject(t, "")
			editFile(t, filepath.Join(dir, "models", "sources.yml"), "settle: 200ms", "settle: 200ms, max_files: 2")
			landAll(dir)
			var out syncBuffer
			cmd := exec.Command(os.Args[0], "-test.run=^TestEltProcess$", "--", "stream", "--once", "--project-dir", dir)
			cmd.Env = append(os.Environ(), helperEnv+"=1", "ELT_FAILPOINT="+point)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if cmd.ProcessState.Success() || !strings.Contains(cmd.ProcessState.String(), "killed") {
				t.Fatalf("elt was not killed (%v):\n%s", err, out.String())
			}
			committed := streamRows(t, dir, "select count(*) from elt_state.stream_positions")
			wantCommitted := map[string]string{"stream-before-commit@2": "2", "stream-after-commit@2": "4"}[point]
			if committed != wantCommitted {
				t.Errorf("files committed before the kill = %s, want %s", committed, wantCommitted)
			}
			mustElt(t, dir, "stream", "--once")
			expectRows(t, dir, windowsQuery, want)
			expectRows(t, dir, "select (select count(*) from elt_state.stream_positions), (select events from elt_state.stream_watermarks)", "6 300")
		})
	}
}

// TestStreamKafkaEndToEnd reads a Kafka topic from an in-process broker,
// restarts from the committed offsets, and upserts by unique_key.
func TestStreamKafkaEndToEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "clicks"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("clicks"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			v := fmt.Sprintf(`{"click_id": %d, "user_id": %d, "ts": "2026-01-01 10:%02d:00"}`, i%15, i%4, i%60)
			if err := prod.ProduceSync(context.Background(), &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := streamProject(t, c.ListenAddrs()[0])
	produce(0, 10)
	mustElt(t, dir, "stream", "--once", "-s", "clicks")
	expectRows(t, dir, "select count(*), count(distinct click_id) from clicks", "10 10")
	// A second process starts from the committed offsets: click_id 10..14
	// are new, 0..4 are upserted again (newer values), nothing doubles.
	produce(10, 20)
	mustElt(t, dir, "stream", "--once", "-s", "clicks")
	expectRows(t, dir, "select count(*), count(distinct click_id) from clicks", "15 15")
	expectRows(t, dir, "select user_id from clicks where click_id = 0", fmt.Sprint(15%4))
	expectRows(t, dir, "select sum(pos_offset) from elt_state.stream_positions where node_id = 'model.clicks'", "20")
	mustElt(t, dir, "stream", "--once", "-s", "clicks")
	expectRows(t, dir, "select count(*) from clicks", "15")

	// Killed inside the batch's transaction, and right after its commit:
	// the next process reads every record once.
	for i, point := range []string{"stream-before-commit", "stream-after-commit"} {
		produce(20+10*i, 30+10*i)
		var out syncBuffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestEltProcess$", "--", "stream", "--once", "-s", "clicks", "--project-dir", dir)
		cmd.Env = append(os.Environ(), helperEnv+"=1", "ELT_FAILPOINT="+point)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err == nil || !strings.Contains(cmd.ProcessState.String(), "killed") {
			t.Fatalf("%s: elt was not killed (%v):\n%s", point, err, out.String())
		}
		mustElt(t, dir, "stream", "--once", "-s", "clicks")
		expectRows(t, dir, "select sum(pos_offset) from elt_state.stream_positions where node_id = 'model.clicks'", fmt.Sprint(30+10*i))
		expectRows(t, dir, "select events from elt_state.stream_watermarks where node_id = 'model.clicks'", fmt.Sprint(30+10*i))
	}
}

// TestStreamServeWhileStreaming runs elt stream --serve and reads
// features over HTTP while new files land.
func TestStreamServeWhileStreaming(t *testing.T) {
	dir := streamProject(t, "")
	land(t, dir, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 1, 5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- MainContext(ctx, []string{"stream", "--serve", "--port", "0", "--interval", "100ms", "--project-dir", dir, "--no-color"},
			strings.NewReader(""), &out, &out)
	}()
	addrRE := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/features`)
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no server address:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	count := func() int {
		resp, err := http.Get("http://" + addr + "/features/purchases_10m?user_id=1&latest=true")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r struct {
			Rows []map[string]any `json:"rows"`
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			return 0
		}
		if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if len(r.Rows) != 1 {
			return 0
		}
		return int(r.Rows[0]["purchases_10m"].(float64))
	}
	waitCount := func(want int) {
		for deadline := time.Now().Add(20 * time.Second); ; {
			if got := count(); got == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("purchases_10m = %d, want %d\n%s", got, want, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount(2)
	land(t, dir, "002.jsonl", [3]int{1, 2, 5}, [3]int{1, 3, 5}, [3]int{1, 4, 5})
	waitCount(5)
	cancel()
	select {
	case code := <-done:
		if code != 130 && code != 0 {
			t.Fatalf("exit %d\n%s", code, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("elt stream did not stop")
	}
	if !strings.Contains(out.String(), "Stopped") {
		t.Errorf("no stop line:\n%s", out.String())
	}
}

// TestStreamModelChangeAsksForFullRefresh: once a stream model's SQL
// changes (here its windows shrink to 5 minutes, same columns), new
// windows would mix with the old version's: elt refuses until a full
// refresh rebuilds it.
func TestStreamModelChangeAsksForFullRefresh(t *testing.T) {
	dir := streamProject(t, "")
	land(t, dir, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 6, 5})
	mustElt(t, dir, "stream", "--once")
	editFile(t, filepath.Join(dir, "models", "purchases_10m.sql"), "interval 10 minute", "interval 5 minute")
	land(t, dir, "002.jsonl", [3]int{1, 7, 5})
	code, out := elt(t, dir, "stream", "--once")
	if code != 1 || !strings.Contains(out, "changed since its table was built") || !strings.Contains(out, "--full-refresh") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	expectRows(t, dir, "select window_start, purchases_10m from purchases_10m", "10:00 2")
	mustElt(t, dir, "stream", "--once", "--full-refresh")
	expectRows(t, dir, "select window_start, purchases_10m from purchases_10m order by 1", "10:00 1\n10:05 2")
	// Tags and docs are not what the rows mean: changing them is fine.
	props := filepath.Join(dir, "models", "props.yml")
	if err := os.WriteFile(props, []byte("models:\n  - name: purchases_10m\n    description: changed\n    config: {tags: [live]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	land(t, dir, "003.jsonl", [3]int{1, 8, 5})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select window_start, purchases_10m from purchases_10m order by 1", "10:00 1\n10:05 3")
}

// TestStreamUntypedSourceKeepsTypes: without declared columns, the first
// batch's types are kept: a later file whose amounts look like integers or
// decimals, or that adds a field, neither changes nor breaks the state.
func TestStreamUntypedSourceKeepsTypes(t *testing.T) {
	dir := streamProject(t, "")
	sources := filepath.Join(dir, "models", "sources.yml")
	b, err := os.ReadFile(sources)
	if err != nil {
		t.Fatal(err)
	}
	untyped := string(b[:bytes.Index(b, []byte("        columns:"))])
	if err := os.WriteFile(sources, []byte(untyped), 0o644); err != nil {
		t.Fatal(err)
	}
	landRaw(t, dir, "001.jsonl", `{"user_id": 1, "amount": 1.5, "event_ts": "2026-01-01 10:00:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	landRaw(t, dir, "002.jsonl", `{"user_id": 1, "amount": 2, "event_ts": "2026-01-01 10:01:00", "coupon": "X"}`+"\n", time.Minute)
	landRaw(t, dir, "003.jsonl", `{"user_id": 1, "amount": 1.25, "event_ts": "2026-01-01 10:02:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select purchases_10m, amount_10m from purchases_10m", "3 4.75")
	// A restarted process reads with the same types.
	landRaw(t, dir, "004.jsonl", `{"user_id": 1, "amount": 0.5, "event_ts": "2026-01-01 10:03:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select purchases_10m, amount_10m from purchases_10m", "4 5.25")
}

// TestStreamHavingModelStillFindsItsWatermark: a model whose HAVING drops
// single events still bounds its state and quarantines late events.
func TestStreamHavingModelStillFindsItsWatermark(t *testing.T) {
	dir := streamProject(t, "")
	editFile(t, filepath.Join(dir, "models", "purchases_10m.sql"), "group by all\n", "group by all\nhaving count(*) >= 2\n")
	for h := 0; h < 6; h++ {
		land(t, dir, fmt.Sprintf("%03d.jsonl", h), [3]int{h + 1, h * 60, 1})
	}
	mustElt(t, dir, "stream", "--once")
	// Newest 15:00 − 20 minutes = 14:40: windows before 14:40 are final.
	expectRows(t, dir, "select late_before from elt_state.stream_watermarks", "14:40")
	expectRows(t, dir, `select count(*) from elt_state."stream:main.purchases_10m"`, "1")
	land(t, dir, "late.jsonl", [3]int{1, 1, 1})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select elt_reason from purchases_10m__quarantine", "late")
	expectRows(t, dir, "select count(*) from purchases_10m", "0")
}

// TestStreamTimestampTZIsUTC: TIMESTAMPTZ event times are compared in UTC
// whatever the machine's zone.
func TestStreamTimestampTZIsUTC(t *testing.T) {
	t.Setenv("TZ", "America/New_York")
	dir := streamProject(t, "")
	editFile(t, filepath.Join(dir, "models", "sources.yml"), "data_type: TIMESTAMP}", "data_type: TIMESTAMPTZ}")
	landRaw(t, dir, "001.jsonl", `{"user_id": 1, "amount": 1, "event_ts": "2026-01-01T06:30:00Z"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	landRaw(t, dir, "002.jsonl", `{"user_id": 1, "amount": 1, "event_ts": "2026-01-01T06:20:00Z"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select count(*) from purchases_10m__quarantine", "0")
	expectRows(t, dir, "select sum(purchases_10m) from purchases_10m", "2")
}

// TestStreamDateWindows: a DATE event time makes daily windows; a day is
// final once it ended before the newest day minus the watermark.
func TestStreamDateWindows(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: streams\ntargets:\n  dev: {path: target/streams.duckdb}\n",
		"models/sources.yml": `sources:
  - name: live
    tables:
      - name: visits
        event_time: day
        stream: {path: landing/purchases/*.jsonl, settle: 0s}
        columns:
          - {name: user_id, data_type: BIGINT}
          - {name: day, data_type: DATE}
`,
		"models/daily_visits.sql": "{{ config(materialized='stream', event_time='day', unique_key=['user_id', 'day'], watermark='36 hours') }}\n" +
			"select user_id, day, count(*) as visits from {{ source('live', 'visits') }} group by all\n",
	})
	landRaw(t, dir, "001.jsonl", `{"user_id": 1, "day": "2026-01-04"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	// Newest 01-04 − 36 hours = 01-02 12:00: 01-02 is still open, 01-01 final.
	landRaw(t, dir, "002.jsonl", `{"user_id": 1, "day": "2026-01-02"}`+"\n"+`{"user_id": 1, "day": "2026-01-01"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select strftime(day, '%m-%d'), visits from daily_visits order by 1", "01-02 1\n01-04 1")
	expectRows(t, dir, "select strftime(day, '%m-%d'), elt_reason from daily_visits__quarantine", "01-01 late")
}

// TestStreamStatelessKeepsNewest: without a watermark, a stream model
// upserts by unique_key, and a row older than the key's current one (out
// of order across batches) does not replace it.
func TestStreamStatelessKeepsNewest(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: streams\ntargets:\n  dev: {path: target/streams.duckdb}\n",
		"models/sources.yml": `sources:
  - name: live
    tables:
      - name: orders
        event_time: ts
        stream: {path: landing/purchases/*.jsonl, settle: 0s}
        columns:
          - {name: order_id, data_type: BIGINT}
          - {name: status, data_type: VARCHAR}
          - {name: ts, data_type: TIMESTAMP}
`,
		"models/order_status.sql": "{{ config(materialized='stream', unique_key='order_id', event_time='ts') }}\n" +
			"select order_id, status, ts from {{ source('live', 'orders') }}\n",
	})
	landRaw(t, dir, "001.jsonl", `{"order_id": 1, "status": "new", "ts": "2026-01-01 10:00:00"}`+"\n"+
		`{"order_id": 1, "status": "paid", "ts": "2026-01-01 10:05:00"}`+"\n"+
		`{"order_id": 2, "status": "new", "ts": "2026-01-01 10:01:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	landRaw(t, dir, "002.jsonl", `{"order_id": 1, "status": "shipped", "ts": "2026-01-01 10:03:00"}`+"\n"+
		`{"order_id": 2, "status": "paid", "ts": "2026-01-01 10:06:00"}`+"\n", time.Minute)
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, "select order_id, status from order_status order by 1", "1 paid\n2 paid")
}

// TestStreamSIGTERMStopsTheDaemon: a real elt stream process polls, takes
// a landed file, and stops on SIGTERM with exit 130, keeping the batch.
func TestStreamSIGTERMStopsTheDaemon(t *testing.T) {
	dir := streamProject(t, "")
	var out syncBuffer
	cmd := eltProcess(t, &out, "stream", "--interval", "100ms", "--project-dir", dir, "--no-color")
	waitFor(t, &out, "Streaming purchases_10m every 100ms")
	land(t, dir, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 1, 5})
	waitFor(t, &out, "purchases_10m: 1 file, 2 events")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("elt stream did not stop on SIGTERM:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(out.String(), "Stopped") {
		t.Fatalf("exit %d, want 130 after a clean stop:\n%s", code, out.String())
	}
	expectRows(t, dir, "select purchases_10m from purchases_10m", "2")
}

// TestStreamFirstBatchKeepsOpenWindowsOnly: a model's first events (no
// retained events table yet) build its windows from the batch directly
// and retain only the events of windows still open, as a first batch that
// retained every event and trimmed the final ones did; a later batch then
// recomputes an open window from them.
func TestStreamFirstBatchKeepsOpenWindowsOnly(t *testing.T) {
	dir := streamProject(t, "")
	// 10:45 is the newest: windows before 10:20 are final at once.
	land(t, dir, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 3, 5}, [3]int{2, 25, 4}, [3]int{1, 45, 2})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, windowsQuery, `
1 10:00 2 10 1
1 10:40 1 2 1
2 10:20 1 4 1`)
	expectRows(t, dir, "select max_event_time, late_before, events, batches from elt_state.stream_watermarks", "10:45 10:20 4 1")
	expectRows(t, dir, `select count(*), min(event_ts), max(event_ts) from elt_state."stream:main.purchases_10m"`, "2 10:25 10:45")

	// 10:28 joins the open window of 10:20, recomputed from the retained
	// 10:25 and the new event; 10:10 is late.
	land(t, dir, "002.jsonl", [3]int{2, 28, 6}, [3]int{1, 10, 1})
	mustElt(t, dir, "stream", "--once")
	expectRows(t, dir, windowsQuery, `
1 10:00 2 10 1
1 10:40 1 2 1
2 10:20 2 10 2`)
	expectRows(t, dir, `select count(*), min(event_ts) from elt_state."stream:main.purchases_10m"`, "3 10:25")
}

// TestStreamFreshIgnoresAttachedState: another attached database holding
// a model of the same name, and its retained events, is not this one's:
// the model's first run here builds it (it once counted the other table's
// rows as its own and failed).
func TestStreamFreshIgnoresAttachedState(t *testing.T) {
	prod := streamProject(t, "")
	land(t, prod, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 45, 2})
	mustElt(t, prod, "stream", "--once")
	expectRows(t, prod, `select count(*) from elt_state."stream:main.purchases_10m"`, "1")

	dev := streamProject(t, "")
	p := filepath.Join(dev, "project.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	hook := fmt.Sprintf("on-run-start:\n  - \"ATTACH '%s' AS prod (READ_ONLY)\"\n", filepath.Join(prod, "target", "streams.duckdb"))
	if err := os.WriteFile(p, append(b, hook...), 0o644); err != nil {
		t.Fatal(err)
	}
	land(t, dev, "001.jsonl", [3]int{1, 0, 5}, [3]int{1, 3, 5}, [3]int{2, 25, 4}, [3]int{1, 45, 2})
	mustElt(t, dev, "run")
	expectRows(t, dev, windowsQuery, `
1 10:00 2 10 1
1 10:40 1 2 1
2 10:20 1 4 1`)
	expectRows(t, dev, `select count(*) from elt_state."stream:main.purchases_10m"`, "2")
}

package materialize

import (
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// TestStreamGolden renders every step of a stream model's micro-batch, with
// and without a watermark, into testdata/stream_<case>.sql (rewrite with
// -update).
func TestStreamGolden(t *testing.T) {
	windows := StreamBatch{
		Schema: "main", Name: "purchases_10m",
		SQL: "select user_id, time_bucket(interval 10 minute, event_ts) as window_start, count(*) as n\nfrom " +
			manifest.StreamEventsToken + "\ngroup by all\n",
		EventTime: "event_ts", WindowColumn: "window_start", UniqueKey: []string{"user_id", "window_start"},
		Watermark: true, Rules: []manifest.QuarantineRule{{Name: "positive", Condition: "amount > 0"}},
		Reader: StreamReader("json", []string{"/p/landing/a.jsonl", "/p/landing/b.jsonl"},
			[][2]string{{"user_id", "BIGINT"}, {"amount", "DOUBLE"}, {"event_ts", "TIMESTAMP"}}, nil),
		LateBefore: time.Date(2026, 1, 1, 10, 20, 0, 0, time.UTC), RunID: "run-1",
	}
	first := windows
	first.LateBefore = time.Time{}
	first.Reader = StreamReader("json", nil, [][2]string{{"user_id", "BIGINT"}, {"amount", "DOUBLE"}, {"event_ts", "TIMESTAMP"}}, nil)
	// The first events of a model: step 2 reads the batch's new events,
	// step 3 keeps those of open windows.
	fresh := windows
	fresh.LateBefore, fresh.Fresh = time.Time{}, true
	stateless := StreamBatch{
		Schema: "raw", Name: "clicks", SQL: "select click_id, user_id, ts from " + manifest.StreamEventsToken,
		EventTime: "ts", WindowColumn: "ts", UniqueKey: []string{"click_id"}, RunID: "run-2",
		Reader: StreamReader("json", []string{"/tmp/kafka-clicks-1.jsonl"}, nil, map[string]any{"ignore_errors": false}),
	}
	floor := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	cases := map[string]string{
		"windows": renderSteps(windows.StreamLoad(), []string{windows.StreamWindowQuery(floor, true)}, windows.StreamUpsert(true, floor),
			windows.StreamTrim(floor), []string{windows.StreamCompact()}),
		"windows_first": renderSteps(first.StreamLoad(), first.StreamUpsert(false, time.Time{}), first.StreamTrim(time.Time{}), first.StreamDrop()),
		"windows_fresh": renderSteps(fresh.StreamLoad(), fresh.StreamUpsert(false, time.Time{}), []string{fresh.StreamWindowQuery(floor, true)},
			fresh.StreamTrim(floor)),
		"stateless": renderSteps(stateless.StreamLoad(), stateless.StreamUpsert(true, time.Time{}), stateless.StreamTrim(time.Time{})),
	}
	for name, got := range cases {
		golden(t, "stream_"+name+".sql", got)
	}
	if got := stateless.StreamCompact(); got != "CREATE OR REPLACE TABLE \"raw\".\"clicks\" AS SELECT * FROM \"raw\".\"clicks\" ORDER BY \"click_id\", \"ts\"" {
		t.Errorf("stateless compaction = %s", got)
	}
	if got := (StreamBatch{Schema: "m", Name: "x", UniqueKey: []string{"w"}, WindowColumn: "w"}).StreamCompact(); got != "" {
		t.Errorf("a model keyed by its window alone has no lookup key, got %s", got)
	}
}

func renderSteps(steps ...[]string) string {
	var b strings.Builder
	for i, s := range steps {
		if i > 0 {
			b.WriteString("\n-- next step\n")
		}
		b.WriteString(strings.Join(s, ";\n") + ";\n")
	}
	return b.String()
}

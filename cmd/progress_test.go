package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
)

// TestProgressLine drives the live line as a terminal would see it: it is
// erased before each node line and redrawn under it with done/total, the
// running nodes, the elapsed time and the ETA, and erased for good before
// the summary.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	pr := newPrinter(&buf, &buf, false, false, true)
	pr.now = func() time.Time { return clock }
	pr.live = newProgress(&buf, pr.now)
	pr.live.width = 80
	r := &reporter{pr: pr}
	a, b := &manifest.Node{Name: "stg_a"}, &manifest.Node{Name: "fct_b"}
	step := func(e runner.Event, line string) {
		r.track(e)
		pr.line(pr.out, line)
	}
	step(runner.Event{Kind: runner.NodeStart, Index: 1, Total: 3, Node: a}, "1 of 3 START a")
	step(runner.Event{Kind: runner.NodeStart, Index: 2, Total: 3, Node: b}, "2 of 3 START b")
	clock = clock.Add(2 * time.Second)
	step(runner.Event{Kind: runner.NodeEnd, Index: 1, Total: 3, Node: a, Result: &runner.NodeResult{}}, "1 of 3 OK a")
	pr.stopLive()
	pr.line(pr.out, "Done.")
	want := "10:00:00  1 of 3 START a\n" +
		"[0/3] running stg_a · 0.0s elapsed" +
		"\r\x1b[K10:00:00  2 of 3 START b\n" +
		"[0/3] running stg_a, fct_b · 0.0s elapsed" +
		"\r\x1b[K10:00:02  1 of 3 OK a\n" +
		"[1/3] running fct_b · 2.0s elapsed · ETA 4.0s" +
		"\r\x1b[K10:00:02  Done.\n"
	if got := buf.String(); got != want {
		t.Errorf("terminal output\n got %q\nwant %q", got, want)
	}
	// Not a terminal: no live line at all.
	var plain bytes.Buffer
	pr2 := newPrinter(&plain, &plain, false, false, true)
	r2 := &reporter{pr: pr2}
	r2.track(runner.Event{Kind: runner.NodeStart, Index: 1, Total: 3, Node: a})
	pr2.line(pr2.out, "1 of 3 START a")
	if pr2.live != nil || strings.Contains(plain.String(), "\r") {
		t.Errorf("live line on a non-terminal: %q", plain.String())
	}
	// A narrow terminal cuts the line.
	l := newProgress(&plain, pr.now)
	l.width, l.total, l.running = 30, 9, []string{"a_very_long_model_name", "b", "c", "d"}
	if got := l.text(); len([]rune(got)) != 29 || !strings.HasSuffix(got, "…") {
		t.Errorf("narrow line %q", got)
	}
}

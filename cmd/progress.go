package cmd

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/elt-dev/elt/runner"
)

// progress is the live status line a run keeps under its node lines on a
// terminal: nodes done of total, the nodes running now, the time elapsed
// and an estimate of the time left. It is drawn without a newline and
// erased before every other line the printer writes, so the node lines
// scroll above it and never mix with it. Every method is called with the
// printer's mutex held. When stdout is not a terminal (or with --quiet or
// --log-format json) there is no live line: plain lines only.
type progress struct {
	w       io.Writer
	width   int
	now     func() time.Time
	started time.Time
	total   int
	done    int
	running []string // names of the running nodes, in start order
	shown   bool     // the line is on screen
	stop    chan struct{}
}

// liveRefresh is how often the live line redraws to move its clock on.
const liveRefresh = 500 * time.Millisecond

func newProgress(w io.Writer, now func() time.Time) *progress {
	width := 80
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 20 {
		width = c
	}
	return &progress{w: w, width: width, now: now, started: now(), stop: make(chan struct{})}
}

// clear erases the live line when it is on screen.
func (l *progress) clear() {
	if l == nil || !l.shown {
		return
	}
	io.WriteString(l.w, "\r\x1b[K")
	l.shown = false
}

// draw writes the live line, leaving the cursor at its end.
func (l *progress) draw() {
	if l == nil || l.total == 0 {
		return
	}
	io.WriteString(l.w, l.text())
	l.shown = true
}

// text renders "[3/7] running stg_logins, fct_user_daily · 4.2s elapsed ·
// ETA 3s", cut to the terminal width.
func (l *progress) text() string {
	elapsed := l.now().Sub(l.started)
	var b strings.Builder
	fmt.Fprintf(&b, "[%d/%d]", l.done, l.total)
	if len(l.running) > 0 {
		names := l.running
		more := ""
		if len(names) > 3 {
			names, more = names[:3], fmt.Sprintf(" +%d", len(l.running)-3)
		}
		b.WriteString(" running " + strings.Join(names, ", ") + more)
	}
	fmt.Fprintf(&b, " · %s elapsed", roundDuration(elapsed))
	if l.done > 0 && l.done < l.total {
		eta := time.Duration(float64(elapsed) / float64(l.done) * float64(l.total-l.done))
		b.WriteString(" · ETA " + roundDuration(eta))
	}
	s := b.String()
	if r := []rune(s); len(r) > l.width-1 {
		s = string(r[:l.width-2]) + "…"
	}
	return s
}

// roundDuration renders d to a tenth of a second under a minute, to the
// second above: "4.2s", "1m3s".
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// track updates the live line with a runner event, first starting it when
// the run's output is a terminal.
func (r *reporter) track(e runner.Event) {
	pr := r.pr
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.live == nil {
		if pr.json || pr.quiet || !isTerminal(pr.out) || os.Getenv("TERM") == "dumb" {
			return
		}
		pr.live = newProgress(pr.out, pr.now)
		go pr.refresh(pr.live)
	}
	l := pr.live
	l.total = max(l.total, e.Total)
	name := ""
	if e.Node != nil {
		name = e.Node.Name
	} else if e.Result != nil {
		name = string(e.Result.NodeID)
	}
	switch e.Kind {
	case runner.NodeStart:
		l.running = append(l.running, name)
	case runner.NodeEnd:
		l.done++
		for i, n := range l.running {
			if n == name {
				l.running = append(l.running[:i:i], l.running[i+1:]...)
				break
			}
		}
	}
}

// refresh redraws l until it stops, so its clock moves between events.
func (p *printer) refresh(l *progress) {
	t := time.NewTicker(liveRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.live == l {
				l.clear()
				l.draw()
			}
			p.mu.Unlock()
		}
	}
}

// stopLive erases the live line and stops it; the summary follows as
// plain lines.
func (p *printer) stopLive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live == nil {
		return
	}
	p.live.clear()
	close(p.live.stop)
	p.live = nil
}

package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/elt-dev/elt/diag"
)

// lineWidth is the width dbt pads a node line to with dots before its
// bracketed status.
const lineWidth = 80

// printer writes everything a command tells the user. Its methods are safe
// for concurrent use: every line is written whole under one mutex, so lines
// from worker goroutines never interleave. In json mode every event is one
// JSON object on one line; in quiet mode only errors and the summary print.
type printer struct {
	mu     sync.Mutex
	out    io.Writer
	errw   io.Writer
	json   bool
	quiet  bool
	color  bool
	now    func() time.Time
	failed bool // an error line or diagnostic was printed
	// live is the progress line kept under the node lines on a terminal
	// (progress.go); nil when there is none.
	live *progress
}

// newPrinter returns a printer writing to stdout and stderr. Colour is used
// only when stdout is a terminal, noColor is false and NO_COLOR is unset.
func newPrinter(stdout, stderr io.Writer, jsonFormat, quiet, noColor bool) *printer {
	return &printer{
		out:   stdout,
		errw:  stderr,
		json:  jsonFormat,
		quiet: quiet,
		color: !noColor && !jsonFormat && isTerminal(stdout) && os.Getenv("NO_COLOR") == "",
		now:   time.Now,
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ANSI colours used for statuses.
const (
	colorRed    = "\x1b[31m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorReset  = "\x1b[0m"
)

func (p *printer) paint(color, s string) string {
	if !p.color || color == "" {
		return s
	}
	return color + s + colorReset
}

// event is the JSON form of one log event.
type event map[string]any

// emit writes one JSON object for ev to w, adding the timestamp.
func (p *printer) emit(w io.Writer, name string, ev event) {
	if ev == nil {
		ev = event{}
	}
	ev["ts"] = p.now().UTC().Format(time.RFC3339Nano)
	ev["event"] = name
	b, err := json.Marshal(ev)
	if err != nil {
		b, _ = json.Marshal(event{"event": name, "error": err.Error()})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w.Write(append(b, '\n'))
}

// Infof prints an informational line (silenced by --quiet).
func (p *printer) Infof(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.json {
		p.emit(p.out, "info", event{"msg": msg})
		return
	}
	if p.quiet {
		return
	}
	p.line(p.out, msg)
}

// Plain prints text verbatim to stdout, without timestamp; it is the
// command's result (a table, a list) and is printed even with --quiet.
func (p *printer) Plain(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.out, s)
	if !strings.HasSuffix(s, "\n") {
		io.WriteString(p.out, "\n")
	}
}

// Errorf prints an error line to stderr; it is never silenced.
func (p *printer) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	if p.json {
		p.emit(p.errw, "error", event{"msg": msg})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live.clear()
	fmt.Fprintln(p.errw, p.paint(colorRed, msg))
	p.live.draw()
}

// Diagnostics prints every diagnostic of l, sorted, one per line, to stderr.
func (p *printer) Diagnostics(l diag.List) {
	l = append(diag.List(nil), l...)
	l.Sort()
	for _, d := range l {
		if p.json {
			ev := event{"msg": d.Msg, "severity": "error"}
			if d.Severity == diag.Warning {
				ev["severity"] = "warning"
			}
			if !d.Pos.IsZero() {
				ev["file"], ev["line"], ev["col"] = d.Pos.File, d.Pos.Line, d.Pos.Col
			}
			p.emit(p.errw, "diagnostic", ev)
			continue
		}
		if d.Severity == diag.Warning {
			if p.quiet {
				continue
			}
			p.mu.Lock()
			fmt.Fprintln(p.errw, p.paint(colorYellow, d.Error()))
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		fmt.Fprintln(p.errw, p.paint(colorRed, d.Error()))
		p.mu.Unlock()
	}
}

// result prints a timestamped line that --quiet does not silence: failure
// details and the summary.
func (p *printer) result(msg string) {
	p.line(p.out, msg)
}

// line writes msg prefixed with the wall-clock time, as dbt does.
func (p *printer) line(w io.Writer, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live.clear()
	fmt.Fprintf(w, "%s  %s\n", p.now().Format("15:04:05"), msg)
	p.live.draw()
}

// fancyLine formats a node line dbt-style: "i of n msg ....... [status]",
// the message padded with dots to lineWidth.
func fancyLine(index, total int, msg, status string) string {
	prefix := msg + " "
	if total > 0 {
		prefix = fmt.Sprintf("%d of %d %s ", index, total, msg)
	}
	if n := lineWidth - len(prefix); n > 0 {
		prefix += strings.Repeat(".", n)
	}
	return prefix + " [" + status + "]"
}

// seconds renders a duration as dbt does: "0.21s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

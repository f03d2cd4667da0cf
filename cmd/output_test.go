package cmd

import (
	"bytes"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elt-dev/elt/diag"
)

// update rewrites golden files and script expectations: go test ./cmd -update
var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderTable(t *testing.T) {
	day := time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2025, 1, 5, 10, 30, 0, 0, time.UTC)
	got := renderTable(
		[]string{"id", "name", "amount", "day", "ts", "note"},
		[][]any{
			{int64(1), "alice", 12.5, day, ts, nil},
			{int32(1234), "bob", float64(1e6), day, ts, "multi\nline"},
			{big.NewInt(7), "émile", -0.25, nil, ts, ""},
		})
	golden(t, "table.golden", got)
}

func TestFancyLine(t *testing.T) {
	tests := []struct {
		index, total int
		msg, status  string
		prefix       string
	}{
		{1, 5, "START sql view model main.stg", "RUN", "1 of 5 START sql view model main.stg ..."},
		{12, 12, "OK created sql table model main.fct", "OK 1,234 rows in 0.21s", "12 of 12 OK created sql table model main.fct ..."},
		{3, 3, strings.Repeat("x", 90), "SKIP", "3 of 3 " + strings.Repeat("x", 90) + " "},
	}
	for _, tt := range tests {
		got := fancyLine(tt.index, tt.total, tt.msg, tt.status)
		if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, " ["+tt.status+"]") {
			t.Errorf("fancyLine(%d, %d, %q, %q) = %q", tt.index, tt.total, tt.msg, tt.status, got)
		}
		body := strings.TrimSuffix(got, " ["+tt.status+"]")
		if want := max(lineWidth, len(tt.prefix)); len(body) != want {
			t.Errorf("fancyLine(%q): body is %d wide, want %d: %q", tt.msg, len(body), want, got)
		}
	}
}

func TestParseVars(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]any
		wantErr string
	}{
		{"", nil, ""},
		{"{run_date: 2025-01-05, n: 3}", map[string]any{"run_date": "2025-01-05", "n": 3}, ""},
		{`{"a": "b", "nested": {"x": [1, 2]}}`, map[string]any{"a": "b", "nested": map[string]any{"x": []any{1, 2}}}, ""},
		// As project.yaml reads them: a time written in full stays one.
		{"{d: 2025-01-05 00:00:00, day: 2025-01-05}", map[string]any{"d": "2025-01-05T00:00:00Z", "day": "2025-01-05"}, ""},
		{"[1, 2]", nil, "--vars is not a YAML mapping"},
		{"{a: ", nil, "--vars is not a YAML mapping"},
		{"just text", nil, "--vars is not a YAML mapping"},
	}
	for _, tt := range tests {
		got, err := parseVars(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseVars(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseVars(%q): %v", tt.in, err)
			continue
		}
		if !equalJSON(got, tt.want) {
			t.Errorf("parseVars(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func equalJSON(a, b any) bool {
	return strings.EqualFold(sprintJSON(a), sprintJSON(b))
}

func sprintJSON(v any) string {
	var buf bytes.Buffer
	p := &printer{out: &buf, json: true, now: time.Now}
	p.emit(&buf, "x", event{"v": v, "ts": ""})
	s := buf.String()
	return s[strings.Index(s, `"v"`):]
}

// TestPrinterSerialises checks that concurrent lines never interleave.
func TestPrinterSerialises(t *testing.T) {
	var buf bytes.Buffer
	p := newPrinter(&buf, &buf, false, false, true)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.line(p.out, strings.Repeat("y", 200))
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("got %d lines, want 50", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "  "+strings.Repeat("y", 200)) || len(l) != len("15:04:05  ")+200 {
			t.Fatalf("interleaved line %q", l)
		}
	}
}

func TestPrinterQuietAndJSON(t *testing.T) {
	var out, errw bytes.Buffer
	p := newPrinter(&out, &errw, false, true, true)
	p.Infof("hidden")
	p.Errorf("shown")
	p.Diagnostics(diag.List{diag.Warnf(diag.Pos{File: "a.yml", Line: 2}, "quiet warning"), diag.Errorf(diag.Pos{File: "b.sql", Line: 1}, "bad")})
	if out.String() != "" {
		t.Errorf("quiet printer wrote %q to stdout", out.String())
	}
	if errw.String() != "shown\nb.sql:1: bad\n" {
		t.Errorf("quiet stderr = %q", errw.String())
	}
	out.Reset()
	errw.Reset()
	p = newPrinter(&out, &errw, true, false, false)
	p.Infof("hello %d", 1)
	p.Diagnostics(diag.List{diag.Errorf(diag.Pos{File: "m.sql", Line: 3}, "oops")})
	if !strings.Contains(out.String(), `"event":"info"`) || !strings.Contains(out.String(), `"msg":"hello 1"`) {
		t.Errorf("json info = %q", out.String())
	}
	if !strings.Contains(errw.String(), `"file":"m.sql"`) || !strings.Contains(errw.String(), `"line":3`) {
		t.Errorf("json diagnostic = %q", errw.String())
	}
}

// decimal and interval mimic duckdb-go's DECIMAL and INTERVAL values.
type decimal struct {
	Width, Scale uint8
	Value        *big.Int
}

func (d decimal) Float64() float64 { return 0 }

type interval struct {
	Days   int32
	Months int32
	Micros int64
}

func TestFormatCell(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "NULL"},
		{decimal{10, 2, big.NewInt(1250)}, "12.50"},
		{decimal{10, 2, big.NewInt(-5)}, "-0.05"},
		{decimal{10, 0, big.NewInt(42)}, "42"},
		{interval{Days: 7}, "7 days"},
		{interval{Months: 14, Days: 1, Micros: 3723_500000}, "1 year 2 months 1 day 01:02:03.5"},
		{interval{}, "00:00:00"},
		{1e20, "1e+20"},
		{0.1, "0.1"},
		{true, "true"},
		{time.Date(2025, 1, 5, 1, 2, 3, 4000, time.UTC), "2025-01-05 01:02:03.000004"},
	}
	for _, tt := range tests {
		if got := formatCell(tt.v); got != tt.want {
			t.Errorf("formatCell(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if !isNumber(decimal{}) {
		t.Error("a decimal is not right-aligned")
	}
}

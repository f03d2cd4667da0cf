// Package bench measures elt against DuckDB alone, at scale. The
// benchmarks run the real elt binary as a subprocess (built once per test
// process, or taken from $ELT_BIN) on projects and data written by package
// gen, and compare it with the same compiled statements executed directly
// through DuckDB in one process. A plain `go test ./bench` runs every
// scenario at a smoke size in seconds; the full sizes run with
//
//	go test ./bench -run '^$' -bench . -benchtime 5x -timeout 60m
//
// (or bench/run.sh, which also keeps the output). BENCHMARKS.md at the
// repository root holds the results and how to read them.
package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	// scratch is this process's directory for binaries, projects and data
	// shared between benchmarks; TestMain removes it.
	scratch string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "elt-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// eltBinary returns $ELT_BIN, or builds the elt binary of this repository
// once per process.
func eltBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("ELT_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		binPath = filepath.Join(scratch, "elt")
		c := exec.Command("go", "build", "-o", binPath, ".")
		c.Dir = ".."
		if out, err := c.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// proc is what one elt process cost.
type proc struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // peak resident set, bytes
	out    string
}

// runElt runs the elt binary with args in dir and fails tb when it exits
// with an error.
func runElt(tb testing.TB, dir string, args ...string) proc {
	tb.Helper()
	c := exec.Command(eltBinary(tb), args...)
	c.Dir = dir
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	t0 := time.Now()
	err := c.Run()
	p := proc{wall: time.Since(t0), out: out.String()}
	if err != nil {
		tb.Fatalf("elt %s in %s: %v\n%s", strings.Join(args, " "), dir, err, tail(out.String(), 3000))
	}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.maxRSS = int64(ru.Maxrss) * 1024 // kilobytes on Linux
		p.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// samples are the measurements of several runs of one thing.
type samples []float64

func (s samples) sorted() []float64 { c := slices.Clone(s); slices.Sort(c); return c }

// median is the middle value (the mean of the two middle ones for an even
// count), the statistic the benchmarks report.
func (s samples) median() float64 {
	c := s.sorted()
	if len(c) == 0 {
		return 0
	}
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func (s samples) min() float64 { return slices.Min(s) }
func (s samples) max() float64 { return slices.Max(s) }

// String renders "median (min–max)" with the given precision.
func (s samples) format(prec int) string {
	if len(s) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.*f (%.*f–%.*f)", prec, s.median(), prec, s.min(), prec, s.max())
}

// seconds converts durations to samples in seconds.
func seconds(ds []time.Duration) samples {
	s := make(samples, len(ds))
	for i, d := range ds {
		s[i] = d.Seconds()
	}
	return s
}

// reportLine logs one result line in the form BENCHMARKS.md tabulates:
// name, then key=value pairs. Benchmarks' log lines are printed with their
// results.
func reportLine(tb testing.TB, name string, kv ...any) {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "RESULT %s", name)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " | %v: %v", kv[i], kv[i+1])
	}
	tb.Log(b.String())
}

// cached returns the directory made by make under key, making it once per
// process; expensive projects and data are shared between b.N rounds.
func cached(tb testing.TB, key string, make func(dir string)) string {
	tb.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if d, ok := cache[key]; ok {
		return d
	}
	d := filepath.Join(scratch, key)
	if err := os.MkdirAll(d, 0o755); err != nil {
		tb.Fatal(err)
	}
	make(d)
	cache[key] = d
	return d
}

var (
	cacheMu sync.Mutex
	cache   = map[string]string{}
)

// removeDB deletes a DuckDB database file and its write-ahead log.
func removeDB(tb testing.TB, path string) {
	tb.Helper()
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
	}
}

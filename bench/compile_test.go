package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/bench/gen"
)

// compileBudget is the budget for `elt compile` by project size;
// peak RSS must stay under a GiB at every size.
var compileBudget = map[int]time.Duration{10_000: 500 * time.Millisecond, 100_000: 5 * time.Second}

const rssBudget = 1 << 30

// compileProject generates (once per process) the layered synthetic
// project of n models: fan-in and fan-out, a macro call in every model,
// one model in ten documented in YAML with columns and tests.
func compileProject(tb testing.TB, n int) string {
	return cached(tb, fmt.Sprintf("compile-%d", n), func(dir string) {
		if _, err := gen.Project(dir, gen.ProjectOptions{Models: n, Shape: gen.Layered, DocShare: 0.1, Macros: true}); err != nil {
			tb.Fatal(err)
		}
	})
}

// compileRuns are the wall times and peak RSS of one kind of compile.
type compileRuns struct {
	wall []time.Duration
	rss  []int64
}

func (r *compileRuns) add(p proc) {
	r.wall, r.rss = append(r.wall, p.wall), append(r.rss, p.maxRSS)
}

// measureCompile runs `elt compile` rounds times on the project of n
// models, each run after the disk settled (see settleDisk): cold (target/ removed before each run: every template rendered
// and every compiled file created), full (target/ kept, but
// --no-partial-parse renders every template again, as any change to the
// project does) and warm (nothing changed: the last compile is reused).
func measureCompile(tb testing.TB, n, rounds int) (cold, full, warm compileRuns) {
	dir := compileProject(tb, n)
	for i := 0; i < rounds; i++ {
		if err := os.RemoveAll(filepath.Join(dir, "target")); err != nil {
			tb.Fatal(err)
		}
		settleDisk()
		cold.add(runElt(tb, dir, "compile"))
		settleDisk()
		full.add(runElt(tb, dir, "compile", "--no-partial-parse"))
		runElt(tb, dir, "compile") // records the compile for the next one
		settleDisk()
		p := runElt(tb, dir, "compile")
		if !strings.Contains(p.out, "Reused the last compile") {
			tb.Fatalf("the warm compile did not reuse the last one:\n%s", tail(p.out, 2000))
		}
		warm.add(p)
	}
	return
}

// BenchmarkCompile measures `elt compile` (load, render, graph check,
// target/compiled/ and manifest.json) as a subprocess at 1k, 10k and 100k
// models, reporting median wall seconds and peak RSS, and the ratio to the
// budget (≤ 1 meets it).
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("models=%d", n), func(b *testing.B) {
			compileProject(b, n)
			b.ResetTimer()
			cold, full, warm := measureCompile(b, n, b.N)
			b.StopTimer()
			reportCompile(b, n, cold, full, warm)
		})
	}
}

func reportCompile(tb testing.TB, n int, cold, full, warm compileRuns) {
	mib := func(v []int64) samples {
		s := make(samples, len(v))
		for i, x := range v {
			s[i] = float64(x) / (1 << 20)
		}
		return s
	}
	c, f, w := seconds(cold.wall), seconds(full.wall), seconds(warm.wall)
	kv := []any{"runs", len(cold.wall), "cold s", c.format(3), "full s", f.format(3), "warm (reused) s", w.format(3),
		"cold peak RSS MiB", mib(cold.rss).format(0), "full peak RSS MiB", mib(full.rss).format(0),
		"warm peak RSS MiB", mib(warm.rss).format(0)}
	if budget, ok := compileBudget[n]; ok {
		kv = append(kv, "cold/budget", fmt.Sprintf("%.2f", c.median()/budget.Seconds()),
			"full/budget", fmt.Sprintf("%.2f", f.median()/budget.Seconds()),
			"warm/budget", fmt.Sprintf("%.2f", w.median()/budget.Seconds()))
	}
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(c.median(), "cold-s")
		b.ReportMetric(f.median(), "full-s")
		b.ReportMetric(w.median(), "warm-s")
		b.ReportMetric(mib(cold.rss).max(), "peak-RSS-MiB")
	}
	reportLine(tb, fmt.Sprintf("compile models=%d", n), kv...)
	if peak := max(slicesMax(cold.rss), slicesMax(full.rss), slicesMax(warm.rss)); peak > rssBudget {
		tb.Logf("peak RSS %d MiB is over the 1 GiB budget", peak>>20)
	}
}

func slicesMax(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

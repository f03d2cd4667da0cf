package bench

import (
	"fmt"
	"os"
	"path/filepath"
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

// measureCompile runs `elt compile` rounds times on the project of n
// models, cold (target/ removed before each run: every compiled file is
// created) and warm (target/ from the previous run: nothing changes), and
// returns the wall times and peak RSS of each.
func measureCompile(tb testing.TB, n, rounds int) (cold, warm []time.Duration, coldRSS, warmRSS []int64) {
	dir := compileProject(tb, n)
	for i := 0; i < rounds; i++ {
		if err := os.RemoveAll(filepath.Join(dir, "target")); err != nil {
			tb.Fatal(err)
		}
		p := runElt(tb, dir, "compile")
		cold, coldRSS = append(cold, p.wall), append(coldRSS, p.maxRSS)
		p = runElt(tb, dir, "compile")
		warm, warmRSS = append(warm, p.wall), append(warmRSS, p.maxRSS)
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
			cold, warm, coldRSS, warmRSS := measureCompile(b, n, b.N)
			b.StopTimer()
			reportCompile(b, n, cold, warm, coldRSS, warmRSS)
		})
	}
}

func reportCompile(tb testing.TB, n int, cold, warm []time.Duration, coldRSS, warmRSS []int64) {
	mib := func(v []int64) samples {
		s := make(samples, len(v))
		for i, x := range v {
			s[i] = float64(x) / (1 << 20)
		}
		return s
	}
	c, w := seconds(cold), seconds(warm)
	kv := []any{"runs", len(cold), "cold s", c.format(3), "warm s", w.format(3),
		"cold peak RSS MiB", mib(coldRSS).format(0), "warm peak RSS MiB", mib(warmRSS).format(0)}
	if budget, ok := compileBudget[n]; ok {
		kv = append(kv, "cold/budget", fmt.Sprintf("%.2f", c.median()/budget.Seconds()),
			"warm/budget", fmt.Sprintf("%.2f", w.median()/budget.Seconds()))
	}
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(c.median(), "cold-s")
		b.ReportMetric(w.median(), "warm-s")
		b.ReportMetric(mib(coldRSS).max(), "peak-RSS-MiB")
	}
	reportLine(tb, fmt.Sprintf("compile models=%d", n), kv...)
	if peak := max(slicesMax(coldRSS), slicesMax(warmRSS)); peak > rssBudget {
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

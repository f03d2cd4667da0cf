package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// versionBudget is the budget for `elt version`.
const versionBudget = 30 * time.Millisecond

// measureStartup runs `elt version` and `elt ls` on a copy of the example
// project rounds times each.
func measureStartup(tb testing.TB, rounds int) (version, ls []time.Duration) {
	dir := cached(tb, "startup-example", func(dir string) { runElt(tb, dir, "init", ".") })
	for i := 0; i < rounds; i++ {
		p := runElt(tb, dir, "version")
		if !strings.Contains(p.out, "elt") {
			tb.Fatalf("elt version printed %q", p.out)
		}
		version = append(version, p.wall)
		p = runElt(tb, dir, "ls")
		if !strings.Contains(p.out, "training_set") {
			tb.Fatalf("elt ls printed %q", p.out)
		}
		ls = append(ls, p.wall)
	}
	return version, ls
}

func reportStartup(tb testing.TB, version, ls []time.Duration) {
	ms := func(ds []time.Duration) samples {
		s := seconds(ds)
		for i := range s {
			s[i] *= 1000
		}
		return s
	}
	v := ms(version)
	reportLine(tb, "startup", "runs", len(version), "elt version ms", v.format(1), "elt ls ms", ms(ls).format(1),
		"version/budget", fmt.Sprintf("%.2f", v.median()/(versionBudget.Seconds()*1000)))
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(v.median(), "version-ms")
		b.ReportMetric(ms(ls).median(), "ls-ms")
	}
}

// BenchmarkStartup measures `elt version` and `elt ls` on the example
// project, 20 runs of each per round.
func BenchmarkStartup(b *testing.B) {
	runElt(b, ".", "version") // the first run pays for the page cache
	b.ResetTimer()
	var version, ls []time.Duration
	for i := 0; i < b.N; i++ {
		v, l := measureStartup(b, 20)
		version, ls = append(version, v...), append(ls, l...)
	}
	b.StopTimer()
	reportStartup(b, version, ls)
}

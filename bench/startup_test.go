package bench

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// versionBudget is the budget for `elt version`.
const versionBudget = 30 * time.Millisecond

// measureStartup runs `elt version` and `elt ls` on a copy of the example
// project rounds times each, and `true` (the machine's cost of starting
// any process, which this VM's load moves by several times) as often.
func measureStartup(tb testing.TB, rounds int) (version, ls, floor []time.Duration) {
	dir := cached(tb, "startup-example", func(dir string) { runElt(tb, dir, "init", ".") })
	truePath, err := exec.LookPath("true")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < rounds; i++ {
		t0 := time.Now()
		if err := exec.Command(truePath).Run(); err != nil {
			tb.Fatal(err)
		}
		floor = append(floor, time.Since(t0))
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
	return version, ls, floor
}

func reportStartup(tb testing.TB, version, ls, floor []time.Duration) {
	ms := func(ds []time.Duration) samples {
		s := seconds(ds)
		for i := range s {
			s[i] *= 1000
		}
		return s
	}
	v := ms(version)
	reportLine(tb, "startup", "runs", len(version), "elt version ms", v.format(1), "elt ls ms", ms(ls).format(1),
		"true ms (process start floor)", ms(floor).format(1),
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
	var version, ls, floor []time.Duration
	for i := 0; i < b.N; i++ {
		v, l, f := measureStartup(b, 20)
		version, ls, floor = append(version, v...), append(ls, l...), append(floor, f...)
	}
	b.StopTimer()
	reportStartup(b, version, ls, floor)
}

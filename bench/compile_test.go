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

// compileKinds are the runs of measureCompile, by kind.
type compileKinds struct {
	cold, full, edited, yaml, warm compileRuns
}

// measureCompile runs `elt compile` rounds times on the project of n
// models, each run after the disk settled (see settleDisk): cold (no
// target/: every template rendered and every compiled file created), full
// (target/ kept, but --no-partial-parse renders every template again, as
// a change to a macro, project.yaml or a YAML file describing a source
// does), edited (one model's text changed: partial parsing renders it
// alone on top of the last compile), yaml (one properties file changed: the
// models it describes are rendered again, their tests made again) and
// warm (nothing changed: the last compile is reused).
//
// Before a cold run, target/ is moved aside, to be removed when the
// process ends: on this machine's disk (ext4 mounted with discard on a
// virtual disk) creating 100,000 files in the seconds after removing as
// many takes several times longer than on a settled disk, which would
// measure the removal, not elt.
func measureCompile(tb testing.TB, n, rounds int) (k compileKinds) {
	dir := compileProject(tb, n)
	edited := editableModel(tb, dir)
	props := editableProps(tb, dir)
	aside, err := os.MkdirTemp(scratch, "target-aside-")
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < rounds; i++ {
		if err := os.Rename(filepath.Join(dir, "target"), filepath.Join(aside, fmt.Sprint(i))); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		settleDisk()
		k.cold.add(runElt(tb, dir, "compile"))
		settleDisk()
		k.full.add(runElt(tb, dir, "compile", "--no-partial-parse"))
		runElt(tb, dir, "compile") // records the compile for the next one
		settleDisk()
		p := runElt(tb, dir, "compile")
		if !strings.Contains(p.out, "Reused the last compile") {
			tb.Fatalf("the warm compile did not reuse the last one:\n%s", tail(p.out, 2000))
		}
		k.warm.add(p)
		k.edited.add(compileAfterEdit(tb, dir, edited, func(text string) string { return text + fmt.Sprintf("\n-- edit %d\n", i) },
			"rendering again only the 1 node whose files or variables changed"))
		// The first model's description: the model and its tests render
		// again.
		k.yaml.add(compileAfterEdit(tb, dir, props, func(text string) string {
			return strings.Replace(text, "description: ", fmt.Sprintf("description: (edit %d) ", i), 1)
		}, "nodes whose files or variables changed"))
	}
	return
}

// compileAfterEdit rewrites the file at p with edit, runs `elt compile` on
// the project in dir once the disk settled, and checks that it patched
// the last compile (its output says want).
func compileAfterEdit(tb testing.TB, dir, p string, edit func(text string) string, want string) proc {
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(edit(string(data))), 0o644); err != nil {
		tb.Fatal(err)
	}
	settleDisk()
	run := runElt(tb, dir, "compile")
	if !strings.Contains(run.out, want) {
		tb.Fatalf("the compile after editing %s did not patch the last one:\n%s", p, tail(run.out, 2000))
	}
	return run
}

// editableModel returns the path of the last model file of the generated
// project in dir, a view two layers from the base.
func editableModel(tb testing.TB, dir string) string { return lastFile(tb, dir, ".sql") }

// editableProps returns the path of the last properties file of the
// generated project in dir, which describes about one model in ten of
// its folder.
func editableProps(tb testing.TB, dir string) string { return lastFile(tb, dir, ".yml") }

// lastFile returns the last file under dir/models whose name ends in ext,
// in the order of a walk.
func lastFile(tb testing.TB, dir, ext string) string {
	var last string
	err := filepath.WalkDir(filepath.Join(dir, "models"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			last = p
		}
		return err
	})
	if err != nil || last == "" {
		tb.Fatalf("no %s file under %s: %v", ext, filepath.Join(dir, "models"), err)
	}
	return last
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
			k := measureCompile(b, n, b.N)
			b.StopTimer()
			reportCompile(b, n, k)
		})
	}
}

func reportCompile(tb testing.TB, n int, k compileKinds) {
	mib := func(v []int64) samples {
		s := make(samples, len(v))
		for i, x := range v {
			s[i] = float64(x) / (1 << 20)
		}
		return s
	}
	c, f, e, y, w := seconds(k.cold.wall), seconds(k.full.wall), seconds(k.edited.wall), seconds(k.yaml.wall), seconds(k.warm.wall)
	kv := []any{"runs", len(k.cold.wall), "cold s", c.format(3), "full s", f.format(3), "one model edited s", e.format(3),
		"one YAML file edited s", y.format(3), "warm (reused) s", w.format(3),
		"cold peak RSS MiB", mib(k.cold.rss).format(0), "full peak RSS MiB", mib(k.full.rss).format(0),
		"edited peak RSS MiB", mib(k.edited.rss).format(0), "YAML edited peak RSS MiB", mib(k.yaml.rss).format(0),
		"warm peak RSS MiB", mib(k.warm.rss).format(0)}
	if budget, ok := compileBudget[n]; ok {
		kv = append(kv, "cold/budget", fmt.Sprintf("%.2f", c.median()/budget.Seconds()),
			"full/budget", fmt.Sprintf("%.2f", f.median()/budget.Seconds()),
			"edited/budget", fmt.Sprintf("%.2f", e.median()/budget.Seconds()),
			"YAML edited/budget", fmt.Sprintf("%.2f", y.median()/budget.Seconds()),
			"warm/budget", fmt.Sprintf("%.2f", w.median()/budget.Seconds()))
	}
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(c.median(), "cold-s")
		b.ReportMetric(f.median(), "full-s")
		b.ReportMetric(e.median(), "edited-s")
		b.ReportMetric(y.median(), "yaml-edited-s")
		b.ReportMetric(w.median(), "warm-s")
		b.ReportMetric(mib(k.cold.rss).max(), "peak-RSS-MiB")
	}
	reportLine(tb, fmt.Sprintf("compile models=%d", n), kv...)
	if peak := max(slicesMax(k.cold.rss), slicesMax(k.full.rss), slicesMax(k.edited.rss), slicesMax(k.yaml.rss), slicesMax(k.warm.rss)); peak > rssBudget {
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

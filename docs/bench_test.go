package docs

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/elt-dev/elt/bench/gen"
	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/lineage"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/warehouse"
)

// scaleManifest compiles a generated layered project of n models.
func scaleManifest(tb testing.TB, n int) *manifest.Manifest {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := gen.Project(dir, gen.ProjectOptions{Models: n, Shape: gen.Layered, DocShare: 0.5}); err != nil {
		tb.Fatal(err)
	}
	proj, diags := project.Load(dir)
	if diags.HasErrors() {
		tb.Fatal(diags.Err())
	}
	m, diags := compiler.Compile(proj, compiler.Options{Target: "dev", Env: os.LookupEnv, Threads: 2})
	if diags.HasErrors() {
		tb.Fatal(diags.Err())
	}
	return m
}

// lineageAndDocs is what the ≤ 3 s budget covers: column lineage of every
// model plus writing the site.
func lineageAndDocs(tb testing.TB, m *manifest.Manifest, out string) *Data {
	tb.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(ctx, warehouse.Memory, warehouse.Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	l, err := lineage.Build(ctx, db, m)
	if err != nil {
		tb.Fatal(err)
	}
	d := Collect(Input{Manifest: m, Lineage: l})
	if err := Generate(out, d); err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestDocsScale measures column lineage plus docs generate for 10,000
// models (budget 3 s) and the page in Chromium (budget 2 s to
// interactive). It runs only with ELT_BENCH=1.
func TestDocsScale(t *testing.T) {
	if os.Getenv("ELT_BENCH") == "" {
		t.Skip("set ELT_BENCH=1 to measure docs at 10,000 models")
	}
	m := scaleManifest(t, 10000)
	out := t.TempDir()
	cpu0 := cpuTime()
	start := time.Now()
	d := lineageAndDocs(t, m, out)
	took := time.Since(start)
	st, _ := os.Stat(filepath.Join(out, "data.js"))
	t.Logf("lineage + docs generate, %d nodes: %v wall, %v CPU (data.js %d KB)", len(d.Nodes), took.Round(time.Millisecond),
		(cpuTime() - cpu0).Round(time.Millisecond), st.Size()/1024)
	if took > 3*time.Second {
		t.Errorf("lineage + docs generate took %v, budget 3s", took)
	}
	bin := chromium(t)
	base := "file://" + filepath.ToSlash(out) + "/index.html"
	for _, page := range []string{"#/", "#/graph", "#/model/m009999", "#/graph/model/m005000"} {
		start := time.Now()
		dom := headless(t, bin, "--dump-dom", base+page)
		wall := time.Since(start)
		mm := regexp.MustCompile(`data-ready-ms="(\d+)"`).FindStringSubmatch(dom)
		if mm == nil {
			t.Fatalf("%s: the page did not become ready", page)
		}
		ms, _ := strconv.Atoi(mm[1])
		t.Logf("%-24s interactive after %d ms in the page (chromium start to DOM dump: %v)", page, ms, wall.Round(time.Millisecond))
		if ms > 2000 {
			t.Errorf("%s: interactive after %d ms, budget 2000 ms", page, ms)
		}
	}
}

// cpuTime is the user+system CPU time this process used so far, a
// measure that a machine shared with other work does not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLineageDocs10k is column lineage plus docs generate for a
// generated 10,000-model project.
func BenchmarkLineageDocs10k(b *testing.B) {
	m := scaleManifest(b, 10000)
	out := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lineageAndDocs(b, m, out)
	}
}

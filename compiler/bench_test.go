package compiler

import (
	"testing"
	"time"

	"github.com/elt-dev/elt/bench/gen"
	"github.com/elt-dev/elt/project"
)

// writeBenchProject writes the layered synthetic project of n models the
// repository's benchmarks use (bench/gen): fan-in and fan-out refs, a macro
// call in every model, one model in ten documented in YAML with tests.
func writeBenchProject(tb testing.TB, dir string, n int) {
	tb.Helper()
	if _, err := gen.Project(dir, gen.ProjectOptions{Models: n, Shape: gen.Layered, Macros: true, DocShare: 0.1}); err != nil {
		tb.Fatal(err)
	}
}

func loadBenchProject(b *testing.B, n int) *project.Project {
	dir := b.TempDir()
	writeBenchProject(b, dir, n)
	p, errs := project.Load(dir)
	if errs.HasErrors() {
		b.Fatal(errs.Err())
	}
	return p
}

// BenchmarkCompile1000 compiles a generated 1,000-model project (loaded
// once, outside the timer). Target: ≤ 100 ms per compile. Besides wall
// time it reports cpu-ms/op, the process CPU time per compile, which does
// not depend on other load on the machine.
func BenchmarkCompile1000(b *testing.B) {
	p := loadBenchProject(b, 1000)
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		m, diags := Compile(p, fixedOptions0())
		if diags.HasErrors() || len(m.Nodes) < 1000 {
			b.Fatalf("%d nodes, %v", len(m.Nodes), diags.Err())
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkLoadCompile1000 loads and compiles the same project each time.
func BenchmarkLoadCompile1000(b *testing.B) {
	dir := b.TempDir()
	writeBenchProject(b, dir, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, errs := project.Load(dir)
		if errs.HasErrors() {
			b.Fatal(errs.Err())
		}
		if _, diags := Compile(p, fixedOptions0()); diags.HasErrors() {
			b.Fatal(diags.Err())
		}
	}
}

// fixedOptions0 is fixedOptions with the default number of workers.
func fixedOptions0() Options {
	o := fixedOptions()
	o.Threads = 0
	return o
}

package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLargeProject writes a project of n models in n/100 folders, each
// folder with a properties file documenting every documented-th model with
// two columns and tests.
func writeLargeProject(tb testing.TB, dir string, n, documented int) {
	tb.Helper()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(FileName, "name: big\nmodels:\n  +materialized: view\n  f0: {+materialized: table}\n")
	var props strings.Builder
	for i := 0; i < n; i++ {
		folder := fmt.Sprintf("f%d", i/100)
		write(fmt.Sprintf("models/%s/m%d.sql", folder, i),
			fmt.Sprintf("select id, value from {{ ref('m%d') }} where id > %d\n", max(i-1, 0), i))
		if i%100 == 0 {
			props.Reset()
			props.WriteString("version: 2\nmodels:\n")
		}
		if i%documented != 0 {
			continue
		}
		fmt.Fprintf(&props, "  - name: m%d\n    description: Model %d.\n    config: {tags: [t%d]}\n"+
			"    columns:\n      - name: id\n        data_tests: [unique, not_null]\n"+
			"      - name: value\n        data_tests:\n          - accepted_values: {values: [1, 2], config: {severity: warn}}\n",
			i, i, i%7)
		if (i%100 == 99 || i == n-1) && props.Len() > 20 {
			write(fmt.Sprintf("models/%s/schema.yml", folder), props.String())
		}
	}
}

// TestLoadLarge checks that a 3,000-model project, read by several
// goroutines, loads completely and in order; BenchmarkLoad measures speed.
func TestLoadLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large project")
	}
	dir := t.TempDir()
	const n = 3000
	writeLargeProject(t, dir, n, 1)
	start := time.Now()
	p, errs := Load(dir)
	t.Logf("loaded %d models in %v", n, time.Since(start))
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", render(errs[:min(len(errs), 10)]))
	}
	if len(p.Models) != n || len(p.ModelProps) != n || len(p.ModelProps["m2999"].Columns) != 2 {
		t.Fatalf("got %d models, %d props", len(p.Models), len(p.ModelProps))
	}
	for i, m := range p.Models {
		if i > 0 && p.Models[i-1].Path >= m.Path {
			t.Fatalf("models out of order: %s before %s", p.Models[i-1].Path, m.Path)
		}
		if want := fmt.Sprintf("where id > %s\n", strings.TrimPrefix(m.Name, "m")); !strings.HasSuffix(m.Content, want) {
			t.Fatalf("%s has content %q", m.Path, m.Content)
		}
	}
}

// BenchmarkLoad loads generated 10,000-model projects where every model,
// or every 20th, is documented in YAML:
//
//	go test ./project -run '^$' -bench Load -benchtime 20x
func BenchmarkLoad(b *testing.B) {
	for _, every := range []int{1, 20} {
		b.Run(fmt.Sprintf("documented_1_in_%d", every), func(b *testing.B) {
			dir := b.TempDir()
			writeLargeProject(b, dir, 10000, every)
			benchLoad(b, dir)
		})
	}
}

func benchLoad(b *testing.B, dir string) {
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, errs := Load(dir); len(errs) > 0 {
			b.Fatal(render(errs))
		}
	}
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

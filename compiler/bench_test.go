package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/project"
)

// writeBenchProject writes a project of n models to dir: ten folders of
// chains where each model refs the previous one (and every fifth also an
// earlier one), calls a macro, and every tenth is documented in YAML.
func writeBenchProject(tb testing.TB, dir string, n int) {
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
	write("project.yaml", "name: bench\nvars:\n  start: '2025-01-01'\nmodels:\n  +materialized: view\n  layer_0:\n    +materialized: table\n")
	write("macros/util.sql", `{% macro cents(col, scale=2) -%}
round({{ col }} / 100.0, {{ scale }})
{%- endmacro %}
{% macro safe_div(a, b) -%}
case when {{ b }} = 0 then null else {{ a }} / {{ b }} end
{%- endmacro %}
`)
	var props strings.Builder
	props.WriteString("models:\n")
	for i := 0; i < n; i++ {
		folder := fmt.Sprintf("layer_%d", i%10)
		var body strings.Builder
		if i%50 == 0 {
			body.WriteString("{{ config(materialized='table', tags=['heavy']) }}\n")
		}
		fmt.Fprintf(&body, "select id, {{ cents('amount') }} as amount, {{ safe_div('a', 'b') }} as ratio, date '{{ var(\"start\") }}' as d\n")
		if i == 0 {
			body.WriteString("from (select 1 as id, 100 as amount, 1 as a, 2 as b)\n")
		} else {
			fmt.Fprintf(&body, "from {{ ref('m_%04d') }}\n", i-1)
			if i%5 == 0 && i >= 5 {
				fmt.Fprintf(&body, "join {{ ref('m_%04d') }} using (id)\n", i-5)
			}
			body.WriteString("{% if is_incremental() %}where d > (select max(d) from {{ this }}){% endif %}\n")
		}
		write(fmt.Sprintf("models/%s/m_%04d.sql", folder, i), body.String())
		if i%10 == 0 {
			fmt.Fprintf(&props, "  - name: m_%04d\n    description: Model %d.\n    columns:\n      - name: id\n        data_tests: [not_null]\n      - name: amount\n", i, i)
		}
	}
	write("models/schema.yml", props.String())
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
		if diags.HasErrors() || len(m.Nodes) != 1000 {
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

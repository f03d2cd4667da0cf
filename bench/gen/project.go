// Package gen writes deterministic synthetic elt projects and event data for
// benchmarks and scale tests. The same arguments always produce the same
// bytes, so benchmark runs are comparable across machines and commits.
package gen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Shape is how the models of a synthetic project depend on each other.
type Shape string

// The shapes a synthetic project can take.
const (
	// Fan makes every model a child of the one base model.
	Fan Shape = "fan"
	// Chain makes model i a child of model i-1.
	Chain Shape = "chain"
	// Layered makes model i ref one to three models of earlier layers
	// (fan-in and fan-out), as a real project would.
	Layered Shape = "layered"
)

// ProjectOptions describes a synthetic project.
type ProjectOptions struct {
	Models       int    // number of models besides the base model
	Shape        Shape  // how models depend on each other
	Materialized string // view or table; the base model is always a table
	BaseRows     int    // rows of the base model
	// DocShare is the share of models (0..1) documented in YAML with
	// columns and data tests.
	DocShare float64
	// Macros adds a macro file and a macro call to every model.
	Macros bool
}

// Project writes a synthetic project into dir (created if needed) and
// returns the model names in build order, base model first.
func Project(dir string, o ProjectOptions) ([]string, error) {
	if o.Materialized == "" {
		o.Materialized = "view"
	}
	if o.BaseRows == 0 {
		o.BaseRows = 100
	}
	if o.Shape == "" {
		o.Shape = Layered
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	for _, d := range []string{"models/base", "macros"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"project.yaml": fmt.Sprintf(`name: bench
targets:
  dev:
    path: target/bench.duckdb
    threads: 4
models:
  +materialized: %s
  base:
    +materialized: table
`, o.Materialized),
		"models/base/base.sql": fmt.Sprintf(
			"select range as id, range %% 97 as grp, (range * 7919) %% 1000 as amount_cents\nfrom range(%d)\n", o.BaseRows),
	}
	if o.Macros {
		files["macros/money.sql"] = "{% macro cents_to_dollars(col) %}({{ col }} / 100.0){% endmacro %}\n"
	}
	names := []string{"base"}
	var yml strings.Builder
	for i := 1; i <= o.Models; i++ {
		name := fmt.Sprintf("m%06d", i)
		folder := modelFolder(i)
		if i == 1 || folder != modelFolder(i-1) {
			if err := os.MkdirAll(filepath.Join(dir, folder), 0o755); err != nil {
				return nil, err
			}
		}
		parents := parentsOf(i, o.Shape)
		files[folder+"/"+name+".sql"] = modelSQL(parents, o.Macros)
		names = append(names, name)
		if o.DocShare > 0 && documented(i, o.DocShare) {
			if yml.Len() == 0 {
				yml.WriteString("models:\n")
			}
			fmt.Fprintf(&yml, `  - name: %s
    description: Synthetic model %d of %d.
    columns:
      - name: id
        description: Row key.
        data_tests: [not_null]
      - name: amount
        description: Amount in dollars.
`, name, i, o.Models)
		}
		if (i == o.Models || folder != modelFolder(i+1)) && yml.Len() > 0 {
			files[folder+"/schema.yml"] = yml.String()
			yml.Reset()
		}
	}
	for rel, body := range files {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// check returns every problem of o, its defaults filled in, at once.
func (o ProjectOptions) check() error {
	var errs []error
	if o.Models < 0 {
		errs = append(errs, fmt.Errorf("models is %d — give 0 or more models besides the base model", o.Models))
	}
	switch o.Shape {
	case Fan, Chain, Layered:
	default:
		errs = append(errs, fmt.Errorf("shape %q is unknown — use %s, %s or %s", o.Shape, Fan, Chain, Layered))
	}
	if o.Materialized != "view" && o.Materialized != "table" {
		errs = append(errs, fmt.Errorf("materialized %q is not supported — use view or table", o.Materialized))
	}
	if o.BaseRows < 0 {
		errs = append(errs, fmt.Errorf("base rows is %d — give 1 or more rows", o.BaseRows))
	}
	if !(o.DocShare >= 0 && o.DocShare <= 1) { // NaN too
		errs = append(errs, fmt.Errorf("docs share is %g — give a share between 0 and 1", o.DocShare))
	}
	return errors.Join(errs...)
}

// FolderSize is how many generated models share one folder: models i of
// 1..FolderSize are in models/gen/g000, the next ones in g001, and so on,
// each folder with its own schema.yml, as in a real project.
const FolderSize = 1000

func modelFolder(i int) string { return fmt.Sprintf("models/gen/g%03d", (i-1)/FolderSize) }

// parentsOf returns the names model i refs, deterministically.
func parentsOf(i int, shape Shape) []string {
	name := func(k int) string {
		if k <= 0 {
			return "base"
		}
		return fmt.Sprintf("m%06d", k)
	}
	switch shape {
	case Chain:
		return []string{name(i - 1)}
	case Fan:
		return []string{"base"}
	}
	// Layered: layers of 50; a model refs up to three models of the
	// previous layer, picked by a fixed hash of i.
	const width = 50
	layer := (i - 1) / width
	if layer == 0 {
		return []string{"base"}
	}
	first := (layer-1)*width + 1
	seen := map[string]bool{}
	var out []string
	for k := 0; k < 1+int(mix(uint64(i))%3); k++ {
		p := name(first + int(mix(uint64(i*31+k))%width))
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func modelSQL(parents []string, macros bool) string {
	amount := "amount_cents / 100.0"
	if macros {
		amount = "{{ cents_to_dollars('amount_cents') }}"
	}
	var b strings.Builder
	if len(parents) == 1 && parents[0] == "base" {
		fmt.Fprintf(&b, "select id, grp, amount_cents, %s as amount\nfrom {{ ref('base') }}\n", amount)
		return b.String()
	}
	b.WriteString("select p0.id, p0.grp, p0.amount_cents")
	if macros {
		fmt.Fprintf(&b, ", %s as amount\n", strings.Replace(amount, "amount_cents", "p0.amount_cents", 1))
	} else {
		b.WriteString(", p0.amount\n")
	}
	fmt.Fprintf(&b, "from {{ ref('%s') }} as p0\n", parents[0])
	for k, p := range parents[1:] {
		fmt.Fprintf(&b, "left join {{ ref('%s') }} as p%d using (id)\n", p, k+1)
	}
	return b.String()
}

func documented(i int, share float64) bool {
	return float64(mix(uint64(i))%1000) < share*1000
}

// mix is splitmix64: a fixed, well-spread hash for deterministic choices.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

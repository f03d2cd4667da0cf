package compiler

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

func TestWithCTEs(t *testing.T) {
	ctes := []string{"__elt_eph_a as (\nselect 1\n)"}
	tests := []struct{ name, sql, want string }{
		{"no with", "select * from __elt_eph_a", "with __elt_eph_a as (\nselect 1\n)\nselect * from __elt_eph_a"},
		{"with", "with x as (select 1) select * from x", "with __elt_eph_a as (\nselect 1\n),\nx as (select 1) select * from x"},
		{"upper with after comments", "-- c\n/* d */\n  WITH x as (select 1) select 2", "-- c\n/* d */\n  WITH __elt_eph_a as (\nselect 1\n),\nx as (select 1) select 2"},
		{"with recursive", "with recursive t(n) as (select 1) select 1", "with recursive __elt_eph_a as (\nselect 1\n),\nt(n) as (select 1) select 1"},
		{"with_x is not with", "with_x as (select 1)", "with __elt_eph_a as (\nselect 1\n)\nwith_x as (select 1)"},
		{"comment only", "-- nothing", "with __elt_eph_a as (\nselect 1\n)\n-- nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withCTEs(tt.sql, ctes); got != tt.want {
				t.Errorf("withCTEs(%q) =\n%s\nwant\n%s", tt.sql, got, tt.want)
			}
		})
	}
	if got := withCTEs("select 1", nil); got != "select 1" {
		t.Errorf("no CTEs changed the SQL: %q", got)
	}
}

func TestSQLLiteral(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"it's", "'it''s'"},
		{true, "true"},
		{int64(3), "3"},
		{2.5, "2.5"},
		{nil, "NULL"},
		{[]any{"a", int64(1)}, "['a', 1]"},
		{map[string]any{"b": "VARCHAR", "a": []any{true}}, "{'a': [true], 'b': 'VARCHAR'}"},
	}
	for _, tt := range tests {
		got, err := sqlLiteral(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("sqlLiteral(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := sqlLiteral(struct{}{}); err == nil {
		t.Error("sqlLiteral accepted a struct")
	}
}

func TestSourceFormat(t *testing.T) {
	tests := []struct {
		table   project.SourceTable
		want    string
		wantErr string
	}{
		{project.SourceTable{Path: "d/*.CSV"}, "read_csv('d/*.CSV')", ""},
		{project.SourceTable{Path: "d/*.ndjson"}, "read_json('d/*.ndjson')", ""},
		{project.SourceTable{Path: "d/*.csv.gz", HivePartitioning: true, Options: map[string]any{"hive_partitioning": true}}, "read_csv('d/*.csv.gz', hive_partitioning=true)", ""},
		{project.SourceTable{Path: "d/*", Format: "parquet"}, "read_parquet('d/*')", ""},
		{project.SourceTable{Path: "d/*.dat"}, "", "cannot tell the format"},
		{project.SourceTable{Path: "d/*.x", Format: "avro"}, "", `format "avro" is not supported`},
	}
	for _, tt := range tests {
		got, err := readerExpr(&tt.table)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("readerExpr(%s) error = %v, want %q", tt.table.Path, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("readerExpr(%s) = %q, %v; want %q", tt.table.Path, got, err, tt.want)
		}
	}
}

// TestConstructedProject compiles a Project built in Go, without files:
// the compiler must not depend on project.Load beyond the types.
func TestConstructedProject(t *testing.T) {
	p := &project.Project{
		Name: "mem", DefaultTarget: "dev",
		Targets: map[string]*project.Target{"dev": {Name: "dev", Path: ":memory:", Threads: 2}},
		Vars:    map[string]any{},
		ModelDefaults: &project.FolderConfig{
			Config:   project.ConfigMap{"materialized": {V: "table", Pos: diag.Pos{File: "project.yaml", Line: 3}}},
			Children: map[string]*project.FolderConfig{},
		},
		Models: []*project.SQLFile{
			{Path: "models/a.sql", Name: "a", Content: "select 1 as id"},
			{Path: "models/b.sql", Name: "b", Content: "select * from {{ ref('a') }}\n-- {{ target.path }}"},
		},
	}
	m, diags := Compile(p, fixedOptions())
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	b := m.Nodes["model.b"]
	if b.CompiledSQL != "select * from \"main\".\"a\"\n-- :memory:" || b.Config.Materialized != "table" {
		t.Errorf("model b = %q, %s", b.CompiledSQL, b.Config.Materialized)
	}
	if got := m.Children[manifest.ModelID("a")]; len(got) != 1 || got[0] != "model.b" {
		t.Errorf("children of a = %v", got)
	}
	// An unknown --target is an error naming the targets there are.
	opts := fixedOptions()
	opts.Target = "prod"
	if _, diags := Compile(p, opts); !strings.Contains(diags.Err().Error(), `unknown target "prod" — targets in project.yaml: dev`) {
		t.Errorf("unknown target: %v", diags.Err())
	}
}

// TestInlineTemplates renders one-model projects built in Go and checks
// the compiled SQL or the error of each.
func TestInlineTemplates(t *testing.T) {
	macro := "{% macro m(a) %}[{{ a }}{% if caller is defined %}{{ caller() }}{% endif %}]{% endmacro %}"
	tests := []struct{ src, want, wantErr string }{
		{src: "{% macro inner() %}{{ return(5) }}{% endmacro %}{{ inner() + 1 }}", want: "6"},
		{src: "{% set x = m(1) %}{{ x }}", want: "[1]"},
		{src: "{% call m(1) %}body{% endcall %}", want: "[1body]"},
		{src: "{{ var('a', 1) + 1 }}", want: "2"},
		{src: "{% if foo is defined %}a{% else %}b{% endif %}{{ foo | default('x') }}{{ var('n', none) }}", want: "bx"},
		{src: "{{ log('hi') }}{{ exceptions.warn('w') }}x", want: "x"},
		{src: "{{ run_started_at.isoformat() }} {{ flags.FULL_REFRESH }}", want: "2025-01-05T10:30:00.000000+00:00 False"},
		{src: "\n\n{{ 'at line 99' ~ ref('nope') }}", wantErr: "models/a.sql:3: ref('nope') not found"},
		{src: "{{ m(1, 2, 3) }}", wantErr: "models/a.sql:1: macro m takes 1 arguments but was given 3"},
		{src: "\n{{ m(zz=1) }}", wantErr: "models/a.sql:2: macro m has no argument zz (arguments: a)"},
		{src: "{{ ref() }}", wantErr: "ref() takes 1 arguments, got 0"},
		{src: "{{ ref(1) }}", wantErr: "ref() arguments must be strings"},
		{src: "{{ source('a') }}", wantErr: "source() takes 2 arguments, got 1"},
		{src: "{{ config('x') }}", wantErr: "config() takes keyword arguments only"},
		{src: "{{ this.nothing }}", wantErr: `this has no attribute "nothing"`},
		{src: "{{ run_query('x') }}", wantErr: "run_query() needs a database"},
		{src: "{{ {'a': 1}['b'] }}", wantErr: "item 'b' not found"},
		{src: "{% include 'x.sql' %}", wantErr: `cannot load "x.sql": {% include %}, {% import %} and {% extends %} are not supported`},
		{src: "select {{ 'a' | nofilter }}", wantErr: "filter 'nofilter' not found"},
		{src: "{# unclosed", wantErr: "unclosed comment"},
		{src: "{{ mm(1) }}", wantErr: "mm is not a macro or function — did you mean m?"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p := &project.Project{Name: "x", Vars: map[string]any{},
				Macros: []*project.SQLFile{{Path: "macros/m.sql", Name: "m", Content: macro}},
				Models: []*project.SQLFile{{Path: "models/a.sql", Name: "a", Content: tt.src}}}
			m, diags := Compile(p, fixedOptions())
			if tt.wantErr != "" {
				if err := diags.Err(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if got := m.Nodes["model.a"].CompiledSQL; got != tt.want {
				t.Errorf("compiled %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeVar(t *testing.T) {
	day := time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC)
	at := time.Date(2025, 1, 5, 10, 0, 0, 0, time.UTC)
	got := normalizeVar(map[string]any{"d": day, "l": []any{at, 1}})
	want := map[string]any{"d": "2025-01-05", "l": []any{"2025-01-05T10:00:00Z", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("normalizeVar = %#v, want %#v", got, want)
	}
}

package materialize

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// render prints a plan in the golden-file format.
func render(p Plan) string {
	var b strings.Builder
	b.WriteString("-- target: " + p.Target + "\n")
	b.WriteString("-- staging: " + p.Staging + "\n")
	if p.HasRows && p.MainCounts {
		b.WriteString("-- rows: counted by main\n")
	} else if p.HasRows {
		b.WriteString("-- rows: counted\n")
	} else {
		b.WriteString("-- rows: none\n")
	}
	for _, sec := range []struct {
		name  string
		stmts []string
	}{{"build", p.Build}, {"publish", p.Publish}} {
		b.WriteString("\n-- " + sec.name + "\n")
		// Statements run one at a time, so they carry no semicolon.
		for i, s := range sec.stmts {
			if i > 0 {
				b.WriteString("\n")
			}
			if sec.name == "build" && i == p.Main {
				b.WriteString("-- main (sent alone)\n")
			}
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func model(mat, existing, sql string) Input {
	return Input{Resource: manifest.Model, Schema: "main", Name: "orders", SQL: sql, Existing: existing,
		Config: manifest.Config{Materialized: mat}}
}

func TestGolden(t *testing.T) {
	seed := Input{Resource: manifest.Seed, Schema: "ref", Name: "countries", SeedPath: "seeds/countries.csv"}
	typed := seed
	typed.Existing = ExistingTable
	typed.Config = manifest.Config{Delimiter: ";", ColumnTypes: map[string]string{"code": "VARCHAR", "population": "BIGINT", "it's": "DATE"}}
	quoted := model("table", "", "select 1 as a")
	quoted.Schema, quoted.Name = `we"ird`, "my model"

	tests := []struct {
		name string
		in   Input
	}{
		{"view_new", model("view", "", "select * from \"main\".\"raw\"\n")},
		{"view_default", model("", "", "select 1 as a")},
		{"view_over_table", model("view", ExistingTable, "select 1 as a")},
		{"view_over_view", model("view", ExistingView, "select 1 as a")},
		{"table_new", model("table", "", "with x as (select 1 as a)\nselect * from x;\n")},
		{"table_over_table", model("table", ExistingTable, "select 1 as a")},
		{"table_over_view", model("table", ExistingView, "select 1 as a -- trailing comment")},
		{"table_quoted_names", quoted},
		{"ephemeral", model("ephemeral", "", "select 1 as a")},
		{"seed_new", seed},
		{"seed_typed_existing", typed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := render(p)
			golden(t, tt.name+".sql", got)
		})
	}
}

func TestCreateSchema(t *testing.T) {
	if got := CreateSchema(`a"b`); got != `CREATE SCHEMA IF NOT EXISTS "a""b"` {
		t.Fatal(got)
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		cfg     manifest.Config
		want    string
		unbuilt bool
	}{
		{manifest.Config{Materialized: "incremental", IncrementalStrategy: "stream"}, "materialized='incremental' with incremental_strategy='stream' is not supported yet", true},
		{manifest.Config{Materialized: "snapshot"}, "a snapshot needs a unique_key — set unique_key to the column (or list of columns) identifying a row", false},
		{manifest.Config{Materialized: "tabel"}, `unknown materialization "tabel" — use one of view, table, incremental, ephemeral, external, snapshot, stream`, false},
	}
	for _, tt := range tests {
		in := model("", "", "select 1")
		in.Config = tt.cfg
		_, err := Build(in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%+v: err = %v, want %s", tt.cfg, err, tt.want)
		}
		if errors.Is(err, ErrNotSupported) != tt.unbuilt {
			t.Errorf("%+v: errors.Is(ErrNotSupported) = %v", tt.cfg, !tt.unbuilt)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []Input{
		{Resource: manifest.Model, Name: "x", Config: manifest.Config{Materialized: "table"}, SQL: "select 1"},
		{Resource: manifest.Model, Schema: "main", Name: "x", Config: manifest.Config{Materialized: "table"}, SQL: " \n"},
		{Resource: manifest.Model, Schema: "main", Name: "x", Existing: "index", SQL: "select 1"},
		{Resource: manifest.Seed, Schema: "main", Name: "x"},
	} {
		if _, err := Build(in); err == nil {
			t.Errorf("Build(%+v) = nil error", in)
		}
	}
}

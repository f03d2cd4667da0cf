package project

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/elt-dev/elt/diag"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// render prints diagnostics one per line, as the CLI does.
func render(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./project -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestLoadGolden loads every testdata/<case>/ and compares the sorted
// diagnostics with errors.golden. A case that loads without errors also
// compares the loaded project, as JSON, with project.golden.json.
func TestLoadGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", c.Name())
			p, errs := Load(dir)
			golden(t, filepath.Join(dir, "errors.golden"), render(errs))
			jsonPath := filepath.Join(dir, "project.golden.json")
			if errs.HasErrors() || p == nil {
				if _, err := os.Stat(jsonPath); err == nil {
					t.Errorf("case has errors but also %s: remove it", jsonPath)
				}
				return
			}
			cp := *p
			cp.Dir = ""
			b, err := json.MarshalIndent(&cp, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, jsonPath, string(b)+"\n")
		})
	}
}

func TestLoadFullValues(t *testing.T) {
	p, errs := Load("testdata/full")
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", render(errs))
	}
	abs, _ := filepath.Abs("testdata/full")
	check := func(name string, got, want any) {
		t.Helper()
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("%s = %s, want %s", name, gj, wj)
		}
	}
	check("Dir", p.Dir, abs)
	check("Name", p.Name, "churn")
	check("DefaultTarget", p.DefaultTarget, "prod")
	check("prod", p.Targets["prod"], &Target{Name: "prod", Path: "target/prod.duckdb", Threads: 8, MemoryLimit: "4GB",
		Settings: map[string]string{"preserve_insertion_order": "false", "temp_directory": "/tmp/x", "max_temp": "10"},
		Pos:      diag.Pos{File: "project.yaml", Line: 6}})
	check("dev threads", p.Targets["dev"].Threads, 4)
	check("vars", p.Vars, map[string]any{"run_date": "2025-01-05", "quoted_date": "2025-01-05", "ts": "2025-01-05T10:30:00Z",
		"n": int64(3), "ratio": 0.5, "flag": true, "nothing": nil, "list": []any{"a", int64(1), "2025-02-01"}, "nested": map[string]any{"k": "v"}})
	check("models root", p.ModelDefaults.Config, ConfigMap{
		"materialized": {V: "view", Pos: diag.Pos{File: "project.yaml", Line: 22}},
		"pre_hook":     {V: "select 1", Pos: diag.Pos{File: "project.yaml", Line: 23}}})
	check("marts.finance", p.ModelDefaults.Children["marts"].Children["finance"].Config["schema"].V, "finance")
	check("staging tags", p.ModelDefaults.Children["staging"].Config["tags"].V, []any{"stg"})
	check("seed column_types", p.SeedDefaults.Children["ref"].Config["column_types"].V, map[string]any{"code": "varchar"})
	check("on-run-start", p.OnRunStart, []Hook{{SQL: "create schema if not exists audit", Pos: diag.Pos{File: "project.yaml", Line: 34}}})
	check("on-run-end", len(p.OnRunEnd), 2)
	check("job", p.Jobs["daily"], &Job{Name: "daily", Schedule: "0 2 * * *", Timezone: "Europe/Paris", Command: "build -s tag:daily",
		StartDate: "2025-01-01", Catchup: true, Retries: 2, Vars: map[string]any{"full": false, "day": "2025-01-02"},
		Pos: diag.Pos{File: "project.yaml", Line: 39}})
	check("alerts", p.Alerts[1], &Alert{On: []string{"failure"}, Command: "notify-send elt failed", Pos: diag.Pos{File: "project.yaml", Line: 52}})

	var models, macros, tests []string
	for _, f := range p.Models {
		models = append(models, f.Path+"="+f.Name)
	}
	for _, f := range p.Macros {
		macros = append(macros, f.Path)
	}
	for _, f := range p.Tests {
		tests = append(tests, f.Path)
	}
	check("models", models, []string{"models/marts/finance/revenue.sql=revenue", "models/staging/stg_events.sql=stg_events", "models/staging/stg_users.sql=stg_users"})
	check("macros", macros, []string{"macros/cents.sql"})
	check("tests", tests, []string{"tests/no_negative.sql"})
	check("seeds", p.SeedFiles, []string{"seeds/countries.csv", "seeds/ref/codes.csv"})
	check("content", p.Models[0].Content, "{{ config(materialized='table') }}\nselect * from {{ ref('stg_events') }}\n")

	ev := p.ModelProps["stg_events"]
	check("model file", ev.File, "models/staging/_schema.yml")
	check("model config", ev.Config["pre_hook"].V, []any{"select 1"})
	check("model tests", ev.Tests[0].Args, map[string]any{"combination_of_columns": []any{"event_id", "user_id"}})
	col := ev.Columns[0]
	check("col", []any{col.Name, col.DataType, col.Meta, col.Tags, col.Pos.Line}, []any{"event_id", "bigint", map[string]any{"pii": false}, []string{"key"}, 47})
	check("test names", []string{col.Tests[0].Name, col.Tests[1].Name, col.Tests[2].Name, col.Tests[3].Name, col.Tests[4].Name},
		[]string{"unique", "not_null", "accepted_values", "relationships", "accepted_range"})
	check("accepted_values", []any{col.Tests[2].Args, col.Tests[2].Config["severity"].V}, []any{map[string]any{"values": []any{int64(1), int64(2), int64(3)}}, "warn"})
	rel := col.Tests[3]
	check("relationships", []any{rel.Args, rel.CustomName, rel.Config["severity"].V, rel.Config["where"].V},
		[]any{map[string]any{"to": "ref('stg_users')", "field": "user_id"}, "events_user_fk", "warn", "user_id > 0"})
	rng := col.Tests[4]
	check("accepted_range", []any{rng.Args, rng.Config["store_failures"].V, rng.Config["limit"].V}, []any{map[string]any{"min_value": int64(0)}, true, int64(10)})
	check("tests alias", ev.Columns[1].Tests[0].Name, "not_null")
	check("revenue props", p.ModelProps["revenue"].Columns[0].DataType, "decimal(18,2)")
	check("seed props", p.SeedProps["codes"].Config["column_types"].V, map[string]any{"code": "varchar"})

	src := p.Sources[0]
	check("source", []any{src.Name, src.Meta, src.Tags, len(src.Tables)}, []any{"raw", map[string]any{"owner": "data"}, []string{"raw"}, 5})
	events := src.Tables[0]
	check("events", []any{events.Path, events.Format, events.HivePartitioning, events.Options, events.LoadedAtField, events.EventTime},
		[]any{"data/raw/events/date=*/*.csv", "csv", true, map[string]any{"header": true, "delim": ","}, "event_ts", "event_ts"})
	check("freshness", events.Freshness, &Freshness{WarnAfter: &Period{1, "day"}, ErrorAfter: &Period{3, "day"}})
	check("logins format", src.Tables[1].Format, "parquet")
	check("legacy", []any{src.Tables[4].Schema, src.Tables[4].Identifier, src.Tables[4].Freshness == nil}, []any{"legacy", "old_events", true})
	check("landing stream", *src.Tables[2].Stream, StreamSource{Path: "data/landing/purchases/*.jsonl", Format: "json", Settle: "250ms", MaxFiles: 100,
		Pos: src.Tables[2].Stream.Pos})
	kafka := src.Tables[3].Stream
	check("kafka stream", []any{kafka.Format, kafka.Kafka.Brokers, kafka.Kafka.Topic, kafka.Path}, []any{"json", []string{"localhost:9092"}, "purchases", ""})

	u := p.UnitTests[0]
	check("unit", []any{u.Name, u.Model, u.Description, len(u.Given)}, []any{"dedup_keeps_latest", "stg_events", "Keep the newest row per key.", 2})
	check("unit rows", u.Given[0].Rows, []map[string]any{
		{"event_id": int64(1), "ingest_ts": "2025-01-01T10:00:00Z", "day": "2025-01-01"},
		{"event_id": int64(1), "ingest_ts": "2025-01-01T11:00:00Z", "day": "2025-01-01"}})
	check("unit csv rows", u.Given[1].CSV, "user_id\n1\n")
	check("expect", u.Expect.CSV, "event_id,ingest_ts\n1,2025-01-01 11:00:00\n")
}

func TestMissingProject(t *testing.T) {
	dir := t.TempDir()
	p, errs := Load(dir)
	want := dir + ": no project.yaml found — run `elt init` or pass --project-dir\n"
	if p != nil || render(errs) != want {
		t.Errorf("got %v %q, want nil %q", p, render(errs), want)
	}
}

func TestDefaultTarget(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("name: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, errs := Load(dir)
	if len(errs) > 0 {
		t.Fatal(render(errs))
	}
	want := Target{Name: "dev", Path: "target/shop.duckdb", Threads: 4, Pos: diag.Pos{File: FileName, Line: 1}}
	if p.DefaultTarget != "dev" || p.Targets["dev"] == nil || p.Targets["dev"].Path != want.Path ||
		p.Targets["dev"].Threads != 4 || len(p.Targets) != 1 {
		t.Errorf("default target %q %+v, want dev %+v", p.DefaultTarget, p.Targets, want)
	}
}

func TestSuggest(t *testing.T) {
	allowed := []string{"columns", "config", "description", "name", "tests"}
	for _, tc := range []struct{ word, want string }{
		{"colums", "columns"},
		{"Columns", "columns"},
		{"confgi", "config"},
		{"descriptoin", "description"},
		{"nmae", "name"},
		{"xyz", ""},
		{"materialized", ""},
	} {
		if got := suggest(tc.word, allowed); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestDateNormalisation(t *testing.T) {
	p, errs := Load("testdata/dates")
	if len(errs) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", render(errs))
	}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"date", p.Vars["day"], "2025-01-05"},
		{"short date", p.Vars["short_day"], "2025-01-05"},
		{"quoted date", p.Vars["quoted"], "2025-01-05"},
		{"utc", p.Vars["utc"], "2025-01-05T10:30:00Z"},
		{"offset", p.Vars["offset"], "2025-01-05T10:30:00+02:00"},
		{"space separated", p.Vars["spaced"], "2025-01-05T10:30:00Z"},
		{"fraction", p.Vars["fraction"], "2025-01-05T10:30:00.25Z"},
		{"explicit tag", p.Vars["tagged"], "2025-01-06"},
		{"nested", p.Vars["nested"].(map[string]any)["list"].([]any)[0], "2025-01-08"},
		{"folder config", p.ModelDefaults.Config["begin"].V, "2024-12-01"},
		{"job start", p.Jobs["daily"].StartDate, "2025-01-01"},
		{"job vars", p.Jobs["daily"].Vars["run_date"], "2025-01-02"},
		{"meta", p.ModelProps["events"].Meta["since"], "2024-06-01"},
		{"yaml config", p.ModelProps["events"].Config["begin"].V, "2025-01-01T00:00:00+02:00"},
		{"test arg", p.ModelProps["events"].Columns[0].Tests[0].Args["min_value"], "2020-01-01"},
		{"unit row date", p.UnitTests[0].Given[0].Rows[0]["day"], "2025-01-01"},
		{"unit row ts", p.UnitTests[0].Given[0].Rows[0]["ts"], "2025-01-01T10:00:00Z"},
		{"expect row", p.UnitTests[0].Expect.Rows[0]["day"], "2025-01-01"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestRootsByName: folder defaults nested under the project's name apply
// to the root while no folder of that name exists; Load says so, since
// creating the folder (even empty) changes every default of the section.
func TestRootsByName(t *testing.T) {
	dir := t.TempDir()
	yaml := "name: shop\nmodels:\n  shop: {+schema: s1}\nseeds:\n  +schema: raw\n"
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, errs := Load(dir)
	if errs.HasErrors() {
		t.Fatal(render(errs))
	}
	if !slices.Equal(p.RootsByName, []string{"models"}) || p.ModelDefaults.Config["schema"].V != "s1" {
		t.Fatalf("roots by name %v, root config %v", p.RootsByName, p.ModelDefaults.Config)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models", "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, errs = Load(dir)
	if errs.HasErrors() {
		t.Fatal(render(errs))
	}
	if len(p.RootsByName) != 0 || p.ModelDefaults.Children["shop"] == nil {
		t.Fatalf("with models/shop/: roots by name %v, children %v", p.RootsByName, p.ModelDefaults.Children)
	}
}

// TestParseMapping: a mapping given on the command line (--vars) reads as
// the same mapping under vars: in project.yaml, types included.
func TestParseMapping(t *testing.T) {
	text := "{day: 2025-01-05, at: 2025-01-05 00:00:00, ts: 2025-01-05T10:30:00+02:00, n: 3, f: 1.0, s: '3', b: true, none: null, l: [1, 'x', 2025-01-05], m: {k: []}}"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("name: shop\nvars: "+text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, errs := Load(dir)
	if errs.HasErrors() {
		t.Fatal(render(errs))
	}
	got, err := ParseMapping(text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p.Vars) {
		t.Fatalf("ParseMapping = %#v\nproject.yaml's vars = %#v", got, p.Vars)
	}
	for _, bad := range []string{"[1, 2]", "{a: ", "just text"} {
		if _, err := ParseMapping(bad); err == nil {
			t.Errorf("ParseMapping(%q) gave no error", bad)
		}
	}
}

package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// compileFiles writes files into a new project directory and compiles it.
func compileFiles(t *testing.T, files map[string]string) (*manifest.Manifest, string) {
	t.Helper()
	dir := t.TempDir()
	files["project.yaml"] = "name: q\n"
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, diags := project.Load(dir)
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	m, diags := Compile(p, fixedOptions())
	if err := diags.Err(); err != nil {
		return m, err.Error()
	}
	return m, ""
}

func TestTestName(t *testing.T) {
	tests := []struct {
		test, owner, column string
		args                map[string]any
		want                string
	}{
		{"not_null", "stg_events", "event_id", nil, "not_null_stg_events_event_id"},
		{"accepted_values", "stg_logins", "device", map[string]any{"values": []any{"ios", "web"}}, "accepted_values_stg_logins_device__ios__web"},
		{"relationships", "orders", "customer_id", map[string]any{"to": "ref('customers')", "field": "id"}, "relationships_orders_customer_id__id__ref_customers"},
		{"not_null", "source_raw_events", "id", nil, "not_null_source_raw_events_id"},
		{"accepted_values", "a_rather_long_model_name_for_events", "a_long_column_name",
			map[string]any{"values": []any{"one", "two", "three"}}, "accepted_values_a_rather_long_model_name_for_events_a_4bd7e1df11"},
	}
	for _, tt := range tests {
		got := testName(tt.test, tt.owner, tt.column, tt.args)
		if got != tt.want {
			t.Errorf("testName(%s, %s, %s) = %q, want %q", tt.test, tt.owner, tt.column, got, tt.want)
		}
		if len(got) > maxTestName {
			t.Errorf("%q is longer than %d", got, maxTestName)
		}
	}
}

func TestExpandTests(t *testing.T) {
	m, errs := compileFiles(t, map[string]string{
		"models/orders.sql":    "select 1 as id, 'a' as customer",
		"models/customers.sql": "{{ config(materialized='ephemeral') }}\nselect 'a' as customer",
		"models/models.yml": `models:
  - name: orders
    columns:
      - name: id
        data_tests:
          - not_null: {config: {where: "id > 0", severity: warn, store_failures: true}}
      - name: customer
        data_tests:
          - relationships: {to: ref('customers'), field: customer}
          - even
`,
		"macros/even.sql": "{% test even(model, column_name) %}select * from {{ model }} where {{ column_name }} % 2 = 1{% endtest %}",
	})
	if errs != "" {
		t.Fatal(errs)
	}
	nn := m.Node("test.not_null_orders_id")
	if nn == nil {
		t.Fatalf("no not_null test in %v", m.IDs())
	}
	if want := `select * from (select * from "main"."orders" where id > 0) where id is null`; nn.CompiledSQL != want {
		t.Errorf("where: compiled %q, want %q", nn.CompiledSQL, want)
	}
	if nn.Config.Severity != "warn" || !nn.Config.StoreFailures || nn.Schema != FailuresSchema {
		t.Errorf("config not applied: %+v schema %q", nn.Config, nn.Schema)
	}
	if nn.TestInfo.TestType != "generic" || nn.TestInfo.AttachedNode != "model.orders" || nn.TestInfo.ColumnName != "id" {
		t.Errorf("test info: %+v", nn.TestInfo)
	}
	rel := m.Node("test.relationships_orders_customer__customer__ref_customers")
	if rel == nil {
		t.Fatalf("no relationships test in %v", m.IDs())
	}
	if got := strings.Join(idStrings(rel.DependsOn), ","); got != "model.customers,model.orders" {
		t.Errorf("relationships depends on %s", got)
	}
	if !strings.Contains(rel.CompiledSQL, "__elt_eph_customers as (") {
		t.Errorf("the ephemeral model is not inlined into the test:\n%s", rel.CompiledSQL)
	}
	if ev := m.Node("test.even_orders_customer"); ev == nil || !strings.Contains(ev.CompiledSQL, "customer % 2 = 1") {
		t.Errorf("custom generic test: %+v", ev)
	}
}

func TestTestErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown test", map[string]string{
			"models/a.sql": "select 1 as id",
			"models/a.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [uniqe]\n",
		}, `models/a.yml:5: unknown test "uniqe" on column id of model a — did you mean unique?`},
		{"bad threshold", map[string]string{
			"models/a.sql": "select 1 as id",
			"models/a.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique: {warn_if: lots}\n",
		}, `is not a condition on the failure count`},
		{"missing argument", map[string]string{
			"models/a.sql": "select 1 as id",
			"models/a.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [relationships]\n",
		}, `test relationships_a_id: macro test_relationships needs argument to`},
		{"unit test without a given input", map[string]string{
			"models/a.sql": "select * from {{ ref('b') }}",
			"models/b.sql": "select 1 as id",
			"models/a.yml": "unit_tests:\n  - name: u\n    model: a\n    given: []\n    expect: {rows: [{id: 1}]}\n",
		}, `models/a.yml:2: unit test u of model a: the model reads ref('b'), which the unit test does not give`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := compileFiles(t, tt.files)
			if !strings.Contains(errs, tt.want) {
				t.Errorf("errors:\n%s\nwant one containing\n%s", errs, tt.want)
			}
		})
	}
}

func TestUnitTestCompile(t *testing.T) {
	m, errs := compileFiles(t, map[string]string{
		"models/a.sql":    "select id from {{ ref('b') }} join {{ source('raw', 'e') }} using (id)",
		"models/b.sql":    "select 1 as id",
		"models/src.yml":  "sources:\n  - name: raw\n    tables:\n      - name: e\n        path: data/e.csv\n",
		"models/unit.yml": "unit_tests:\n  - name: u\n    model: a\n    given:\n      - {input: ref('b'), rows: [{id: 1}]}\n      - {input: \"source('raw', 'e')\", rows: [{id: 1}]}\n    expect: {rows: [{id: 1}]}\n",
	})
	if errs != "" {
		t.Fatal(errs)
	}
	u := m.Node("test.u")
	if u == nil || u.TestInfo == nil || u.TestInfo.Unit == nil {
		t.Fatalf("no unit test node: %+v", u)
	}
	if want := `select id from "elt_given_1" join "elt_given_2" using (id)`; u.CompiledSQL != want {
		t.Errorf("compiled %q, want %q", u.CompiledSQL, want)
	}
	if got := u.TestInfo.Unit.Given[1].Relation; !strings.HasPrefix(got, "read_csv('data/e.csv'") {
		t.Errorf("real relation of the source: %q", got)
	}
	if got := strings.Join(idStrings(u.DependsOn), ","); got != "model.a" {
		t.Errorf("depends on %s", got)
	}
}

func idStrings(ids []manifest.NodeID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

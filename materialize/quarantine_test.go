package materialize

import (
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

func TestBuildChecked(t *testing.T) {
	rules := []manifest.QuarantineRule{{Name: "positive", Condition: "amount > 0"}, {Name: "known", Condition: "id is not null"}}
	ok := `(coalesce((amount > 0), false) AND coalesce((id is not null), false))`
	tests := []struct {
		name, materialized string
		want               []string // statements, in order, each a prefix
	}{
		{"table", "table", []string{
			`CREATE OR REPLACE TABLE "main"."m__elt_tmp" AS select 1`,
			`CREATE TABLE IF NOT EXISTS "main"."m__quarantine" AS SELECT *, CAST(NULL AS VARCHAR) AS elt_reason`,
			`INSERT INTO "main"."m__quarantine" BY NAME SELECT *, concat_ws(', ', CASE WHEN NOT coalesce((amount > 0), false) THEN 'positive' END, ` +
				`CASE WHEN NOT coalesce((id is not null), false) THEN 'known' END) AS elt_reason, 'run1' AS elt_run_id`,
		}},
		{"view", "view", []string{
			`CREATE OR REPLACE VIEW "main"."m" AS SELECT * FROM (select 1` + "\n" + `) AS elt_checked WHERE ` + ok,
			`CREATE TABLE IF NOT EXISTS "main"."m__quarantine" AS SELECT *`,
			`INSERT INTO "main"."m__quarantine" BY NAME SELECT *`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Resource: manifest.Model, Schema: "main", Name: "m", SQL: "select 1",
				Config: manifest.Config{Materialized: tt.materialized, Quarantine: rules}}
			p, err := BuildChecked(in, "run1")
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Build) != len(tt.want) {
				t.Fatalf("build has %d statements, want %d:\n%s", len(p.Build), len(tt.want), strings.Join(p.Build, "\n;\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(p.Build[i], w) {
					t.Errorf("statement %d:\n%s\nwant prefix\n%s", i, p.Build[i], w)
				}
			}
		})
	}
	if got := QuarantineDelete(`"main"."m"`, rules); got != `DELETE FROM "main"."m" WHERE NOT `+ok {
		t.Errorf("QuarantineDelete = %s", got)
	}
	in := Input{Resource: manifest.Model, Schema: "main", Name: "m", SQL: "select 1",
		Config: manifest.Config{Materialized: "ephemeral", Quarantine: rules}}
	if _, err := BuildChecked(in, "r"); err == nil {
		t.Error("quarantine on an ephemeral model is accepted")
	}
	in.Config = manifest.Config{Materialized: "table"}
	plain, _ := Build(in)
	checked, _ := BuildChecked(in, "r")
	if strings.Join(plain.Statements(), ";") != strings.Join(checked.Statements(), ";") {
		t.Error("a model without rules is not built as by Build")
	}
}

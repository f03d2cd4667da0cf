package runner

import (
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

func TestNormType(t *testing.T) {
	same := [][2]string{{"int", "INTEGER"}, {"string", "VARCHAR"}, {"varchar(10)", "VARCHAR"}, {"numeric(10, 2)", "DECIMAL(10,2)"},
		{"timestamptz", "TIMESTAMP WITH TIME ZONE"}, {"bool", "BOOLEAN"}, {"decimal", "DECIMAL(18,3)"}}
	for _, p := range same {
		if normType(p[0]) != normType(p[1]) {
			t.Errorf("%s and %s differ: %s vs %s", p[0], p[1], normType(p[0]), normType(p[1]))
		}
	}
	if normType("bigint") == normType("integer") {
		t.Error("bigint equals integer")
	}
}

func TestFixtureSQL(t *testing.T) {
	rows := manifest.UnitRows{Rows: []map[string]any{
		{"id": int64(1), "ts": "2025-01-01T10:00:00Z", "day": "2025-01-01", "v": 1.5, "ok": true},
		{"id": int64(2), "v": int64(2), "name": "x"},
	}}
	got, err := fixtureSQL("g", rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `CREATE TABLE "g" ("day" DATE, "id" BIGINT, "name" VARCHAR, "ok" BOOLEAN, "ts" TIMESTAMP, "v" DOUBLE);` + "\n" +
		`INSERT INTO "g" VALUES (CAST('2025-01-01' AS DATE), CAST(1 AS BIGINT), CAST(NULL AS VARCHAR), CAST(true AS BOOLEAN), CAST('2025-01-01T10:00:00Z' AS TIMESTAMP), CAST(1.5 AS DOUBLE)), ` +
		`(CAST(NULL AS DATE), CAST(2 AS BIGINT), CAST('x' AS VARCHAR), CAST(NULL AS BOOLEAN), CAST(NULL AS TIMESTAMP), CAST(2 AS DOUBLE))`
	if got != want {
		t.Errorf("fixtureSQL =\n%s\nwant\n%s", got, want)
	}
	// Typed like the real input: every column of it, absent ones NULL.
	got, err = fixtureSQL("g", manifest.UnitRows{CSV: "id\n7\n"}, []column{{"id", "INTEGER"}, {"v", "VARCHAR"}})
	if err != nil || !strings.Contains(got, `VALUES (CAST(7 AS INTEGER), CAST(NULL AS VARCHAR))`) {
		t.Errorf("typed fixture: %s, %v", got, err)
	}
	if _, err := fixtureSQL("g", manifest.UnitRows{CSV: "nope\n1\n"}, []column{{"id", "INTEGER"}}); err == nil ||
		!strings.Contains(err.Error(), "column nope is not a column of the input") {
		t.Errorf("unknown fixture column: %v", err)
	}
}

package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// TestSmoke runs every benchmark scenario once at a small size, so that a
// plain `go test ./bench` (and CI) checks in seconds that the harness, the
// generators and the direct-DuckDB reference still work and agree with
// elt; the full sizes run only with -bench.
func TestSmoke(t *testing.T) {
	t.Run("compile", func(t *testing.T) {
		reportCompile(t, 300, measureCompile(t, 300, 1))
	})
	t.Run("per-node", func(t *testing.T) {
		for _, s := range perNodeShapes(30) {
			r := measurePerNode(t, s, 1)
			if r.nodes != 31 {
				t.Fatalf("%s: the direct plan has %d nodes, want 31", s.name, r.nodes)
			}
			r.report(t, s.name)
		}
	})
	t.Run("pipeline", func(t *testing.T) {
		r := measurePipeline(t, 20_000, 1)
		if r.nodes < 6 {
			t.Fatalf("the direct plan of the example has %d nodes", r.nodes)
		}
		r.report(t)
		// The direct run must build what elt builds.
		dir := churnProject(t, 20_000)
		eltRows := countRows(t, filepath.Join(dir, "target", "churn.duckdb"), "training_set")
		directRows := countRows(t, filepath.Join(dir, "target", "direct.duckdb"), "training_set")
		if eltRows != directRows || eltRows == 0 {
			t.Errorf("training_set has %d rows built by elt and %d built directly", eltRows, directRows)
		}
	})
	t.Run("startup", func(t *testing.T) {
		v, l, f := measureStartup(t, 2)
		reportStartup(t, v, l, f)
		if v[0] > 5*time.Second {
			t.Errorf("elt version took %v", v[0])
		}
	})
}

// countRows returns the row count of main.table in the database file.
func countRows(t *testing.T, dbFile, table string) int64 {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(ctx, dbFile, warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.RowCount(ctx, warehouse.Relation("main", table))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

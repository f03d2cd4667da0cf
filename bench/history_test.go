package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// TestStateHistoryCost measures what elt_state's history costs a run: the
// same `elt run` of a 50-model project on a database whose elt_state holds
// one earlier run, then on the same database after ELT_BENCH_HISTORY runs
// (default 100,000: an hourly run for eleven years, or 5,000,000 node
// results) were added to it. A run writes and reads its own rows only, so
// the ratio should stay near 1. It runs at full size only with
// ELT_BENCH=1 (without, 1,000 runs, to check that the harness works and
// that the history's rows do not confuse a run; ELT_BENCH_DIR keeps the two
// projects in DIR/fresh and DIR/aged):
//
//	ELT_BENCH=1 go test ./bench -run TestStateHistoryCost -count 1 -v
func TestStateHistoryCost(t *testing.T) {
	const nodes = 50
	runs, rounds := 100_000, 11
	if os.Getenv("ELT_BENCH") == "" {
		runs, rounds = 1_000, 1
	}
	if v, err := strconv.Atoi(os.Getenv("ELT_BENCH_HISTORY")); err == nil && v > 0 {
		runs = v
	}
	if v, err := strconv.Atoi(os.Getenv("ELT_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	files := map[string]string{"project.yaml": "name: histbench\n"}
	// A small table, and nodes-1 views and tables over it: the run's own
	// work is a few milliseconds, so what the history adds shows.
	files["models/base.sql"] = "{{ config(materialized='table') }}\nselect range as id, range % 7 as k from range(1000)\n"
	for i := 1; i < nodes; i++ {
		m := "view"
		if i%5 == 0 {
			m = "table"
		}
		files[fmt.Sprintf("models/m%02d.sql", i)] = fmt.Sprintf("{{ config(materialized='%s') }}\nselect k, count(*) as n from {{ ref('base') }} where id %% %d = 0 group by k\n", m, i+1)
	}
	// Two copies of the project, one given the history; their runs
	// alternate, so the VM's drift falls on both alike.
	ctx := context.Background()
	freshDir, agedDir := t.TempDir(), t.TempDir()
	if dir := os.Getenv("ELT_BENCH_DIR"); dir != "" { // kept, to profile by hand
		freshDir, agedDir = filepath.Join(dir, "fresh"), filepath.Join(dir, "aged")
		// From nothing: a database kept from an earlier run would get the
		// history twice.
		for _, d := range []string{freshDir, agedDir} {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFiles(t, freshDir, files)
	writeFiles(t, agedDir, files)
	eltFresh, eltAged := eltInProcess(t, ctx, freshDir), eltInProcess(t, ctx, agedDir)
	eltFresh("run")
	eltAged("run")
	dbFile := filepath.Join(agedDir, "target", "histbench.duckdb")
	start := time.Now()
	if err := execOn(ctx, dbFile, agedDir, historySQL(runs, nodes)); err != nil {
		t.Fatal(err)
	}
	t.Logf("added %d runs (%d node results) to elt_state in %v", runs, runs*nodes, time.Since(start).Round(time.Millisecond))
	eltAged("run") // the first run after the history was written pays its checkpoint
	var freshRuns, agedRuns []time.Duration
	for range rounds {
		settleDisk()
		freshRuns = append(freshRuns, eltFresh("run"))
		settleDisk()
		agedRuns = append(agedRuns, eltAged("run"))
	}
	fresh, aged := seconds(freshRuns), seconds(agedRuns)

	// The runs are recorded, each with its own results, beside the history.
	db, err := warehouse.Open(ctx, dbFile, warehouse.Settings{ProjectDir: agedDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(ctx, `SELECT (SELECT count(*) FROM elt_state.invocations),
  (SELECT count(*) FROM elt_state.run_history),
  (SELECT count(*) FROM elt_state.all_node_results),
  (SELECT count(*) FROM elt_state.all_node_results WHERE run_id = (SELECT run_id FROM elt_state.invocations ORDER BY started_at DESC LIMIT 1) AND status = 'success'),
  (SELECT count(*) FROM elt_state.invocations WHERE status <> 'success')`)
	if err != nil {
		t.Fatal(err)
	}
	ownRuns := 2 + rounds
	want := []any{int64(runs + ownRuns), int64(runs + ownRuns), int64((runs + ownRuns) * nodes), int64(nodes), int64(0)}
	if got := res.Rows[0]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("elt_state holds (invocations, run_history, node results, the last run's successes, unsuccessful runs) %v; want %v", got, want)
	}
	t.Logf("elt run of %d models: %s s on a fresh elt_state, %s s after %d runs of history: %.2f× (medians of %d rounds, min–max)",
		nodes, fresh.format(3), aged.format(3), runs, aged.median()/fresh.median(), rounds)
}

// historySQL writes runs earlier runs of nodes nodes each into elt_state,
// as elt records them: an invocation, its parameters, its run_history row
// and a result per node, an hour apart, ending an hour ago. Run ids are
// hex digests, spread like elt's random UUIDs: zone maps cannot skip them.
func historySQL(runs, nodes int) string {
	end := "(now()::TIMESTAMP - INTERVAL 1 HOUR)"
	return fmt.Sprintf(`BEGIN;
INSERT INTO elt_state.invocations
SELECT md5('run' || i), 'run', %[3]s - INTERVAL (i) HOUR, %[3]s - INTERVAL (i) HOUR + INTERVAL 2 SECOND, 'success', '{}', NULL
FROM range(%[1]d) t(i);
INSERT INTO elt_state.invocation_params
SELECT md5('run' || i), %[3]s - INTERVAL (i) HOUR, '{"command":"run","vars":{}}' FROM range(%[1]d) t(i);
INSERT INTO elt_state.run_history
SELECT md5('run' || i), NULL, 'manual', 'run', NULL, NULL, 1, '{}', 'success', %[3]s - INTERVAL (i) HOUR,
       %[3]s - INTERVAL (i) HOUR + INTERVAL 2 SECOND, %[2]d, '[]', NULL
FROM range(%[1]d) t(i);
INSERT INTO elt_state.node_results
SELECT md5('run' || (i // %[2]d)), 'model.histbench.m' || (i %% %[2]d), 'success', 1000,
       %[3]s - INTERVAL (i // %[2]d) HOUR, %[3]s - INTERVAL (i // %[2]d) HOUR + INTERVAL 1 SECOND,
       '', md5(i::VARCHAR), 1000, 1000, NULL, NULL
FROM range(%[1]d * %[2]d) t(i);
COMMIT`, runs, nodes, end)
}

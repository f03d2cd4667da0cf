package state_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

func openDB(t *testing.T) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(context.Background(), filepath.Join(t.TempDir(), "s.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func inTx(t *testing.T, db *warehouse.DB, fn func(tx *warehouse.Tx) error) error {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.InTx(context.Background(), fn)
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	for i := 0; i < 3; i++ {
		if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	res, err := db.Query(ctx, "select version from elt_state.schema_version order by 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != state.Version {
		t.Fatalf("schema_version rows = %v, want one per version (%d)", res.Rows, state.Version)
	}
	rels, err := db.Relations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{`"elt_state"."invocations"`, `"elt_state"."node_results"`, `"elt_state"."schema_version"`} {
		if _, ok := rels[r]; !ok {
			t.Errorf("missing %s", r)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "insert into elt_state.schema_version values (99, now())"); err != nil {
		t.Fatal(err)
	}
	err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) })
	if err == nil || !strings.Contains(err.Error(), "version 99 is newer") {
		t.Fatalf("err = %v", err)
	}
}

func TestInvocationAndResults(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// A start with nanoseconds, as time.Now gives; DuckDB keeps
	// microseconds.
	startNanos := start.Add(123456789)
	err := inTx(t, db, func(tx *warehouse.Tx) error {
		if err := state.Migrate(ctx, tx); err != nil {
			return err
		}
		return state.StartInvocation(ctx, tx, state.Invocation{RunID: "r1", Command: "run", Started: startNanos,
			Status: state.Running, Vars: map[string]any{"b": 1, "a": "x"}, Selector: "tag:daily"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A committed result is visible; a rolled-back one is not.
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.a", Status: "success",
			Rows: 7, Started: start, Completed: start.Add(time.Second), Fingerprint: "abc"})
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		if err := state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.b", Status: "success",
			Rows: -1, Started: start, Completed: start}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.c", Status: "success",
			Rows: -1, Started: start, Completed: start, Message: "it's \"quoted\" — ünïcode\nline 2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for node, want := range map[string]bool{"model.a": true, "model.b": false, "model.c": true} {
		got, err := state.HasNodeResult(ctx, c, "r1", node)
		if err != nil || got != want {
			t.Errorf("HasNodeResult(%s) = %v, %v; want %v", node, got, err, want)
		}
	}
	rs, err := state.NodeResults(ctx, c, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].NodeID != "model.a" || rs[0].Rows != 7 || rs[0].Fingerprint != "abc" ||
		!rs[0].Completed.Equal(start.Add(time.Second)) || rs[1].NodeID != "model.c" || rs[1].Rows != -1 ||
		rs[1].Message != "it's \"quoted\" — ünïcode\nline 2" {
		t.Fatalf("NodeResults = %+v", rs)
	}

	// The run's results are in the journal until filed; JournaledResults
	// reads them there, and none once they are filed.
	if rs, err := state.JournaledResults(ctx, c, "r1"); err != nil || len(rs) != 2 || rs[0].NodeID != "model.a" ||
		rs[0].Rows != 7 || rs[1].NodeID != "model.c" || rs[1].Message != "it's \"quoted\" — ünïcode\nline 2" {
		t.Fatalf("JournaledResults = %+v, %v", rs, err)
	}
	if rs, err := state.JournaledResults(ctx, c, "r2"); err != nil || len(rs) != 0 {
		t.Fatalf("JournaledResults(r2) = %+v, %v", rs, err)
	}
	if err := c.Exec(ctx, "BEGIN; "+state.FoldJournalSQL+"; COMMIT"); err != nil {
		t.Fatal(err)
	}
	if rs, err := state.JournaledResults(ctx, c, "r1"); err != nil || len(rs) != 0 {
		t.Fatalf("JournaledResults after filing = %+v, %v", rs, err)
	}
	if rs, err := state.NodeResults(ctx, c, "r1"); err != nil || len(rs) != 2 {
		t.Fatalf("NodeResults after filing = %+v, %v", rs, err)
	}

	end := start.Add(time.Minute)
	if err := state.FinishInvocation(ctx, c, "r1", startNanos, state.Success, end); err != nil {
		t.Fatal(err)
	}
	// A start later than the recorded one still finds the row, by its id.
	if err := c.Exec(ctx, "BEGIN; INSERT INTO elt_state.invocations VALUES ('r0', 'run', TIMESTAMP '2025-01-01 00:00:00', NULL, 'running', '{}', NULL); COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := state.FinishInvocation(ctx, c, "r0", start.Add(time.Hour), state.Error, end); err != nil {
		t.Fatal(err)
	}
	if inv, err := state.GetInvocation(ctx, c, "r0"); err != nil || inv.Status != state.Error || !inv.Completed.Equal(end) {
		t.Fatalf("invocation r0 = %+v, %v; want it finished", inv, err)
	}
	inv, err := state.GetInvocation(ctx, c, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Status != state.Success || !inv.Completed.Equal(end) || !inv.Started.Equal(startNanos.Truncate(time.Microsecond)) ||
		inv.Selector != "tag:daily" || inv.Vars["a"] != "x" || inv.Vars["b"] != float64(1) || inv.Command != "run" {
		t.Fatalf("invocation = %+v", inv)
	}
	res, err := c.Query(ctx, "select vars from elt_state.invocations")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != `{"a":"x","b":1}` {
		t.Errorf("vars json = %v", res.Rows[0][0])
	}
}

// TestMigrateRowCountsIntoNodeResults opens a database written by a
// version-1 elt (row counts in their own table) and checks that version 2
// moves them into node_results, keeps elt_state.row_counts readable as a
// view with the same rows, and records new counts with the node result.
func TestMigrateRowCountsIntoNodeResults(t *testing.T) {
	ctx := context.Background()
	db := v1Setup(t,
		`INSERT INTO elt_state.node_results VALUES
			('r1', 'model.a', 'success', 10, TIMESTAMP '2026-11-01 01:00:00', TIMESTAMP '2026-11-01 01:00:01', '', 'f'),
			('r1', 'model.v', 'success', NULL, TIMESTAMP '2026-11-01 01:00:00', TIMESTAMP '2026-11-01 01:00:01', '', 'f')`,
		`INSERT INTO elt_state.row_counts VALUES ('r1', 'model.a', 12, 10, 2, NULL, TIMESTAMP '2026-11-01 01:00:01')`)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	rowCounts := func() string {
		t.Helper()
		res, err := db.Query(ctx, `SELECT run_id, node_id, rows_read, rows_written, rows_quarantined, rows_rejected
			FROM elt_state.row_counts ORDER BY run_id, node_id`)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows)
	}
	if got, want := rowCounts(), "[[r1 model.a 12 10 2 <nil>]]"; got != want {
		t.Fatalf("row_counts after migration = %s, want %s", got, want)
	}
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	err := db.Exec(ctx, state.InsertNodeResultSQL(state.NodeResult{RunID: "r2", NodeID: "model.a", Status: "success", Rows: 7,
		Started: at, Completed: at, Counts: &state.RowCounts{Read: 9, Written: 7, Quarantined: 2, Rejected: -1}}))
	if err != nil {
		t.Fatal(err)
	}
	// Filed from the journal, as at the end of a run.
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return tx.Exec(ctx, state.FoldJournalSQL) }); err != nil {
		t.Fatal(err)
	}
	if got, want := rowCounts(), "[[r1 model.a 12 10 2 <nil>] [r2 model.a 9 7 2 <nil>]]"; got != want {
		t.Fatalf("row_counts after a new result = %s, want %s", got, want)
	}
	// Migrating again changes nothing.
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, "SELECT max(version) FROM elt_state.schema_version")
	if err != nil || fmt.Sprint(res.Rows) != fmt.Sprintf("[[%d]]", state.Version) {
		t.Fatalf("schema version = %v, %v; want %d", res, err, state.Version)
	}
}

// TestJournalFoldsIntoNodeResults: a node result goes to node_journal and
// reads back the same before and after FoldJournalSQL files it into
// node_results: microsecond timestamps, unknown counts as NULL, a message
// with quotes, a newline and non-ASCII text.
func TestJournalFoldsIntoNodeResults(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 6, 10, 11, 12, 345678000, time.UTC)
	msg := "it's \"quoted\" — ünïcode\nline 2 \\ {}"
	if err := db.Exec(ctx, state.InsertNodeResultSQL(state.NodeResult{RunID: "r9", NodeID: "model.x", Status: "success",
		Rows: 42, Started: start, Completed: start.Add(1500 * time.Millisecond), Message: msg, Fingerprint: "fp",
		Counts: &state.RowCounts{Read: 50, Written: 42, Quarantined: 8, Rejected: -1}})); err != nil {
		t.Fatal(err)
	}
	row := func(from string) string {
		t.Helper()
		res, err := db.Query(ctx, `SELECT run_id, node_id, status, rows_affected, CAST(started_at AS VARCHAR), CAST(completed_at AS VARCHAR),
			message, fingerprint, rows_read, rows_written, rows_quarantined, rows_rejected FROM `+from)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows)
	}
	want := "[[r9 model.x success 42 2026-12-06 10:11:12.345678 2026-12-06 10:11:13.845678 " + msg + " fp 50 42 8 <nil>]]"
	if got := row("elt_state.node_results"); got != "[]" {
		t.Fatalf("node_results before the fold = %s, want nothing", got)
	}
	// Readers during a run see it at once: all_node_results, row_counts.
	if got := row("elt_state.all_node_results"); got != want {
		t.Fatalf("all_node_results before the fold =\n%s\nwant\n%s", got, want)
	}
	counts, err := db.Query(ctx, "SELECT rows_read, rows_written, rows_quarantined, rows_rejected FROM elt_state.row_counts WHERE run_id = 'r9'")
	if err != nil || fmt.Sprint(counts.Rows) != "[[50 42 8 <nil>]]" {
		t.Fatalf("row_counts before the fold = %v, %v", counts, err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, err := state.HasNodeResult(ctx, c, "r9", "model.x"); err != nil || !ok {
		t.Fatalf("HasNodeResult before the fold = %v, %v", ok, err)
	}
	if rs, err := state.NodeResults(ctx, c, "r9"); err != nil || len(rs) != 1 || rs[0].Message != msg || !rs[0].Started.Equal(start) {
		t.Fatalf("NodeResults before the fold = %+v, %v", rs, err)
	}
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return tx.Exec(ctx, state.FoldJournalSQL) }); err != nil {
		t.Fatal(err)
	}
	if got := row("elt_state.node_results"); got != want {
		t.Fatalf("node_results after the fold =\n%s\nwant\n%s", got, want)
	}
	if got := row("elt_state.all_node_results"); got != want {
		t.Fatalf("all_node_results after the fold =\n%s\nwant\n%s (once)", got, want)
	}
	res, err := db.Query(ctx, "SELECT count(*) FROM elt_state.node_journal")
	if err != nil || fmt.Sprint(res.Rows) != "[[0]]" {
		t.Fatalf("journal after the fold = %v, %v", res, err)
	}
	if rs, err := state.NodeResults(ctx, c, "r9"); err != nil || len(rs) != 1 {
		t.Fatalf("NodeResults after the fold = %+v, %v (counted once)", rs, err)
	}
}

// TestRecordIntervalsSQL: the ledger rows of several intervals, written in
// one DELETE and one INSERT, replace exactly the rows of the same node and
// starts, whatever else the ledger holds.
func TestRecordIntervalsSQL(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if got := state.RecordIntervalsSQL("model.a", nil); got != "" {
		t.Fatalf("RecordIntervalsSQL(nil) = %q, want none", got)
	}
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	ivs := func(node, fp string, rows int64, days ...int) []state.Interval {
		var out []state.Interval
		for _, d := range days {
			out = append(out, state.Interval{NodeID: node, Start: day(d), End: day(d + 1), Fingerprint: fp, RunID: "r-" + fp,
				Rows: rows, Completed: day(20)})
		}
		return out
	}
	for _, batch := range [][]state.Interval{
		ivs("model.a", "v1", 10, 1, 2, 3),
		ivs("model.b", "v1", 5, 2),
		ivs("model.a", "v2", -1, 2, 4), // restates day 2, adds day 4; rows unknown
	} {
		if err := inTx(t, db, func(tx *warehouse.Tx) error { return tx.Exec(ctx, state.RecordIntervalsSQL(batch[0].NodeID, batch)) }); err != nil {
			t.Fatal(err)
		}
	}
	for node, want := range map[string]string{
		"model.a": "1 v1 10; 2 v2 -1; 3 v1 10; 4 v2 -1; ",
		"model.b": "2 v1 5; ",
	} {
		var got []state.Interval
		if err := inTx(t, db, func(tx *warehouse.Tx) (err error) { got, err = state.Intervals(ctx, tx, node); return err }); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, iv := range got {
			if !iv.End.Equal(iv.Start.AddDate(0, 0, 1)) || iv.RunID != "r-"+iv.Fingerprint {
				t.Errorf("%s: interval %+v has the wrong end or run", node, iv)
			}
			fmt.Fprintf(&b, "%d %s %d; ", iv.Start.Day(), iv.Fingerprint, iv.Rows)
		}
		if b.String() != want {
			t.Errorf("%s ledger = %q, want %q", node, b.String(), want)
		}
	}
}

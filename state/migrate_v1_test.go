package state_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// v1Schema is a version-1 elt_state with the row_counts table.
var v1Schema = []string{
	`CREATE SCHEMA elt_state`,
	`CREATE TABLE elt_state.schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)`,
	`INSERT INTO elt_state.schema_version VALUES (1, TIMESTAMP '2026-11-01 00:00:00')`,
	`CREATE TABLE elt_state.node_results (run_id VARCHAR NOT NULL, node_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
		rows_affected BIGINT, started_at TIMESTAMP NOT NULL, completed_at TIMESTAMP NOT NULL, message VARCHAR, fingerprint VARCHAR)`,
	`CREATE TABLE elt_state.row_counts (run_id VARCHAR NOT NULL, node_id VARCHAR NOT NULL, rows_read BIGINT,
		rows_written BIGINT, rows_quarantined BIGINT, rows_rejected BIGINT, recorded_at TIMESTAMP NOT NULL)`,
}

func v1Setup(t *testing.T, extra ...string) *warehouse.DB {
	t.Helper()
	db := openDB(t)
	for _, s := range append(append([]string{}, v1Schema...), extra...) {
		if err := db.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

func v1RowCounts(t *testing.T, db *warehouse.DB) string {
	t.Helper()
	res, err := db.Query(context.Background(), `SELECT run_id, node_id, rows_read, rows_written FROM elt_state.row_counts ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(res.Rows)
}

// Row counts recorded without a node_results row (one deleted by hand, or
// written by another path) are kept: the migration gives them a result of
// their own.
func TestMigrateV1DropsOrphanRowCounts(t *testing.T) {
	ctx := context.Background()
	db := v1Setup(t,
		`INSERT INTO elt_state.row_counts VALUES ('r1', 'model.orphan', 5, 5, 0, 0, TIMESTAMP '2026-11-01 01:00:01')`)
	before := v1RowCounts(t, db)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if after := v1RowCounts(t, db); after != before {
		t.Fatalf("row_counts lost by migration: before %s, after %s", before, after)
	}
}

// Two row_counts rows for one node and run: the newest is kept.
func TestMigrateV1DuplicateRowCounts(t *testing.T) {
	ctx := context.Background()
	db := v1Setup(t,
		`INSERT INTO elt_state.node_results VALUES ('r1', 'model.a', 'success', 10, TIMESTAMP '2026-11-01 01:00:00', TIMESTAMP '2026-11-01 01:00:01', '', 'f')`,
		`INSERT INTO elt_state.row_counts VALUES ('r1', 'model.a', 12, 10, 2, NULL, TIMESTAMP '2026-11-01 01:00:01'),
			('r1', 'model.a', 99, 99, 0, NULL, TIMESTAMP '2026-11-01 01:00:02')`)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if got, want := v1RowCounts(t, db), "[[r1 model.a 99 99]]"; got != want {
		t.Fatalf("row_counts = %s, want the newest counts %s", got, want)
	}
}

// A version-1 database that has no row_counts table at all (created
// before row_counts existed): the migration must still succeed.
func TestMigrateV1V1WithoutRowCounts(t *testing.T) {
	ctx := context.Background()
	db := v1Setup(t, `DROP TABLE elt_state.row_counts`,
		`INSERT INTO elt_state.node_results VALUES ('r1', 'model.a', 'success', 10, TIMESTAMP '2026-11-01 01:00:00', TIMESTAMP '2026-11-01 01:00:01', '', 'f')`)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	// and the insert with explicit columns works on the migrated table
	if got := v1RowCounts(t, db); got != "[]" {
		t.Fatalf("row_counts = %s", got)
	}
}

// Realistic v1 database: the full current version-1 table set (every
// capability's tables) plus the old row_counts table, with data.
func TestMigrateV1Realistic(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`DROP VIEW elt_state.row_counts`,
		`DELETE FROM elt_state.schema_version WHERE version = 2`,
		`ALTER TABLE elt_state.node_results DROP COLUMN rows_read`,
		`ALTER TABLE elt_state.node_results DROP COLUMN rows_written`,
		`ALTER TABLE elt_state.node_results DROP COLUMN rows_quarantined`,
		`ALTER TABLE elt_state.node_results DROP COLUMN rows_rejected`,
		`CREATE TABLE elt_state.row_counts (run_id VARCHAR NOT NULL, node_id VARCHAR NOT NULL, rows_read BIGINT,
			rows_written BIGINT, rows_quarantined BIGINT, rows_rejected BIGINT, recorded_at TIMESTAMP NOT NULL)`,
		`INSERT INTO elt_state.node_results SELECT 'r' || (i // 100), 'model.m' || (i % 100), 'success', i, now()::timestamp, now()::timestamp, '', 'f' FROM range(10000) t(i)`,
		`INSERT INTO elt_state.row_counts SELECT 'r' || (i // 100), 'model.m' || (i % 100), i, i, 0, 0, now()::timestamp FROM range(10000) t(i)`,
	} {
		if err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(ctx, `SELECT count(*), sum(rows_read) FROM elt_state.row_counts`)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[10000 49995000]]" {
		t.Fatalf("row_counts after migration: %s, want all 10000 rows (sum 49995000)", got)
	}
}

// A database still at version 1 gets version 1's tables it lacks (one made
// before a capability's tables were added to version 1), then the later
// versions.
func TestMigrateV1CreatesMissingTables(t *testing.T) {
	ctx := context.Background()
	db := v1Setup(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	rels, err := db.Relations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"invocations", "intervals", "column_profiles", "run_history", "stream_watermarks", "node_journal"} {
		if _, ok := rels[`"elt_state"."`+r+`"`]; !ok {
			t.Errorf("elt_state.%s missing after migrating a version-1 database", r)
		}
	}
}

// countingDB counts the statements a state function executes.
type countingDB struct {
	state.DB
	execs int
}

func (c *countingDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.execs++
	return c.DB.ExecContext(ctx, query, args...)
}

// Migrating an up-to-date database creates nothing again: every run
// migrates, up to three times per invocation.
func TestMigrateUpToDateIsCheap(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	for i, want := range []int{-1, 2} {
		err := inTx(t, db, func(tx *warehouse.Tx) error {
			c := &countingDB{DB: tx}
			if err := state.Migrate(ctx, c); err != nil {
				return err
			}
			if want >= 0 && c.execs != want {
				t.Errorf("migrate #%d executed %d statements, want %d", i+1, c.execs, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

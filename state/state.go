// Package state owns the elt_state schema of a target database: the
// invocations elt ran and the result of every node they built. Rows are
// written through the caller's transaction, so a node's result row commits
// or rolls back together with the data it describes. The package speaks
// database/sql interfaces only and needs no cgo.
package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Schema is the schema holding elt's state tables.
const Schema = "elt_state"

// DB is what state needs of a connection or transaction; *sql.Tx,
// *sql.Conn and warehouse's Conn and Tx satisfy it.
type DB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// migrations lists the schema's versions: migrations[i] brings the schema
// to version i+1. Statements are idempotent (IF NOT EXISTS), so a
// migration interrupted before its version row is written can run again
// (Migrate runs inside a transaction, which covers the rest). Append new
// versions; never edit a released one. Each capability keeps its
// version-1 tables in its own file (intervals.go, quality.go, snapshots.go,
// history.go, stream.go). Version 1 grew while it was the only one, so a
// database still at version 1 gets its idempotent statements again (a
// development database picks up the tables added since it was created);
// it has not changed since version 2, so a database at 2 or above has
// them all, and an up-to-date database costs Migrate three statements.
var migrations = [][]string{
	concat(coreTables, intervalTables, qualityTables, snapshotTables, historyTables, streamTables),
	rowCountsInNodeResults,
	nodeJournal,
}

// nodeJournal is version 3. A node's transaction appends its result to
// node_journal, one JSON string, and FoldJournalSQL files the journal into
// node_results at the start and the end of every run: DuckDB's cost of
// appending a row grows with its columns (about 0.035 ms each), and
// node_results' twelve were a third of what elt added to a small table's
// build. Readers that must see a result as soon as its node committed read
// all_node_results, both together; row_counts becomes a view of it.
var nodeJournal = []string{
	`CREATE TABLE IF NOT EXISTS elt_state.node_journal (entry VARCHAR NOT NULL)`,
	`CREATE OR REPLACE VIEW elt_state.all_node_results AS ` + allResultsSelect,
	`CREATE OR REPLACE VIEW elt_state.row_counts AS
SELECT run_id, node_id, rows_read, rows_written, rows_quarantined, rows_rejected, completed_at AS recorded_at
FROM elt_state.all_node_results
WHERE rows_read IS NOT NULL OR rows_written IS NOT NULL OR rows_quarantined IS NOT NULL OR rows_rejected IS NOT NULL`,
}

// coreTables are the invocations and node results every run writes (node
// results through node_journal since version 3: see nodeJournal).
var coreTables = []string{
	`CREATE TABLE IF NOT EXISTS elt_state.invocations (
    run_id       VARCHAR NOT NULL,
    command      VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    status       VARCHAR NOT NULL,
    vars         VARCHAR,
    selector     VARCHAR
)`,
	`CREATE TABLE IF NOT EXISTS elt_state.node_results (
    run_id        VARCHAR NOT NULL,
    node_id       VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,
    rows_affected BIGINT,
    started_at    TIMESTAMP NOT NULL,
    completed_at  TIMESTAMP NOT NULL,
    message       VARCHAR,
    fingerprint   VARCHAR,
    -- the reconciliation of a built node: rows its query produced (read),
    -- published (written), quarantined and rejected; NULL when unknown
    rows_read        BIGINT,
    rows_written     BIGINT,
    rows_quarantined BIGINT,
    rows_rejected    BIGINT
)`,
}

// rowCountsInNodeResults is version 2: the row counts move from their own
// table into node_results, so a node's transaction appends one state row
// instead of two (an append to a second table cost a chain of 1,000
// tables 1.5 ms per node). elt_state.row_counts stays, as a view.
var rowCountsInNodeResults = []string{
	`ALTER TABLE elt_state.node_results ADD COLUMN IF NOT EXISTS rows_read BIGINT`,
	`ALTER TABLE elt_state.node_results ADD COLUMN IF NOT EXISTS rows_written BIGINT`,
	`ALTER TABLE elt_state.node_results ADD COLUMN IF NOT EXISTS rows_quarantined BIGINT`,
	`ALTER TABLE elt_state.node_results ADD COLUMN IF NOT EXISTS rows_rejected BIGINT`,
	// The version 1 table, empty on a new database, so the copy below
	// needs no condition.
	`CREATE TABLE IF NOT EXISTS elt_state.row_counts (
    run_id           VARCHAR NOT NULL,
    node_id          VARCHAR NOT NULL,
    rows_read        BIGINT,
    rows_written     BIGINT,
    rows_quarantined BIGINT,
    rows_rejected    BIGINT,
    recorded_at      TIMESTAMP NOT NULL
)`,
	// The newest counts of each node and run move to its result; counts
	// without a result keep one of their own, status 'unknown'.
	`UPDATE elt_state.node_results AS n
SET rows_read = c.rows_read, rows_written = c.rows_written,
    rows_quarantined = c.rows_quarantined, rows_rejected = c.rows_rejected
FROM (SELECT * FROM elt_state.row_counts
      QUALIFY row_number() OVER (PARTITION BY run_id, node_id ORDER BY recorded_at DESC) = 1) AS c
WHERE c.run_id = n.run_id AND c.node_id = n.node_id`,
	`INSERT INTO elt_state.node_results (run_id, node_id, status, rows_affected, started_at, completed_at, message,
    fingerprint, rows_read, rows_written, rows_quarantined, rows_rejected)
SELECT run_id, node_id, 'unknown', NULL, recorded_at, recorded_at, 'row counts kept by the elt_state version 2 migration',
    NULL, rows_read, rows_written, rows_quarantined, rows_rejected
FROM (SELECT * FROM elt_state.row_counts
      QUALIFY row_number() OVER (PARTITION BY run_id, node_id ORDER BY recorded_at DESC) = 1) AS c
WHERE NOT EXISTS (SELECT 1 FROM elt_state.node_results AS n WHERE n.run_id = c.run_id AND n.node_id = c.node_id)`,
	`DROP TABLE elt_state.row_counts`,
	rowCountsView,
}

// rowCountsView is elt_state.row_counts: the reconciliation of every node
// that recorded row counts, one row per node and run.
const rowCountsView = `CREATE OR REPLACE VIEW elt_state.row_counts AS
SELECT run_id, node_id, rows_read, rows_written, rows_quarantined, rows_rejected, completed_at AS recorded_at
FROM elt_state.node_results
WHERE rows_read IS NOT NULL OR rows_written IS NOT NULL OR rows_quarantined IS NOT NULL OR rows_rejected IS NOT NULL`

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Version is the schema version this elt writes.
var Version = len(migrations)

// Migrate brings the elt_state schema to Version: it creates the schema
// and the schema_version table when missing, then applies every migration
// above the recorded version, each followed by its version row. It is
// idempotent; run it inside a transaction so a failure leaves nothing
// half-done. A database written by a newer elt is an error.
func Migrate(ctx context.Context, db DB) error {
	for _, stmt := range []string{
		`CREATE SCHEMA IF NOT EXISTS elt_state`,
		`CREATE TABLE IF NOT EXISTS elt_state.schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create elt_state: %w", err)
		}
	}
	v, err := CurrentVersion(ctx, db)
	if err != nil {
		return err
	}
	if v > Version {
		return fmt.Errorf("elt_state schema version %d is newer than this elt knows (%d) — upgrade elt to use this database", v, Version)
	}
	if v == 1 {
		for _, stmt := range migrations[0] {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate elt_state to version 1: %w", err)
			}
		}
	}
	for i := v; i < Version; i++ {
		for _, stmt := range migrations[i] {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate elt_state to version %d: %w", i+1, err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO elt_state.schema_version VALUES (?, ?)`, i+1, time.Now().UTC()); err != nil {
			return fmt.Errorf("migrate elt_state to version %d: %w", i+1, err)
		}
	}
	return nil
}

// CurrentVersion returns the highest recorded schema version, 0 for none.
func CurrentVersion(ctx context.Context, db DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM elt_state.schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read elt_state version: %w", err)
	}
	return v, nil
}

// Invocation statuses.
const (
	Running   = "running"
	Success   = "success"
	Error     = "error"
	Cancelled = "cancelled"
)

// Invocation is one elt command run against the database.
type Invocation struct {
	RunID     string
	Command   string
	Started   time.Time
	Completed time.Time // zero while running
	Status    string
	Vars      map[string]any
	Selector  string
}

// StartInvocation records inv (normally with Status Running).
func StartInvocation(ctx context.Context, db DB, inv Invocation) error {
	vars, err := json.Marshal(inv.Vars)
	if err != nil {
		return fmt.Errorf("record invocation %s: vars: %w", inv.RunID, err)
	}
	if inv.Vars == nil {
		vars = []byte("{}")
	}
	_, err = db.ExecContext(ctx, `INSERT INTO elt_state.invocations VALUES (?, ?, ?, ?, ?, ?, ?)`,
		inv.RunID, inv.Command, inv.Started.UTC(), nullTime(inv.Completed), inv.Status, string(vars), inv.Selector)
	if err != nil {
		return fmt.Errorf("record invocation %s: %w", inv.RunID, err)
	}
	return nil
}

// FinishInvocation sets the status and completion time of run runID,
// which started at started (the Started StartInvocation recorded). The
// start bounds the UPDATE's scan: invocations are appended in start order,
// so DuckDB skips the row groups of older runs by their zone maps instead
// of reading every run_id of the history (7 ms at 100,000 runs).
func FinishInvocation(ctx context.Context, db DB, runID string, started time.Time, status string, completed time.Time) error {
	const finish = `UPDATE elt_state.invocations SET status = ?, completed_at = ? WHERE run_id = ?`
	r, err := db.ExecContext(ctx, finish+` AND started_at >= ?`, status, completed.UTC(), runID, started.UTC().Add(-time.Second))
	if err == nil {
		if n, nerr := r.RowsAffected(); nerr != nil || n == 0 {
			// A start other than the recorded one: find the row by its id
			// alone rather than leave the run "running".
			_, err = db.ExecContext(ctx, finish, status, completed.UTC(), runID)
		}
	}
	if err != nil {
		return fmt.Errorf("finish invocation %s: %w", runID, err)
	}
	return nil
}

// GetInvocation returns run runID, or an error wrapping sql.ErrNoRows.
func GetInvocation(ctx context.Context, db DB, runID string) (*Invocation, error) {
	var (
		inv       Invocation
		completed sql.NullTime
		vars      sql.NullString
		selector  sql.NullString
	)
	err := db.QueryRowContext(ctx, `SELECT run_id, command, started_at, completed_at, status, vars, selector
FROM elt_state.invocations WHERE run_id = ?`, runID).Scan(
		&inv.RunID, &inv.Command, &inv.Started, &completed, &inv.Status, &vars, &selector)
	if err != nil {
		return nil, fmt.Errorf("invocation %s: %w", runID, err)
	}
	inv.Completed = completed.Time
	inv.Selector = selector.String
	if vars.Valid && vars.String != "" {
		if err := json.Unmarshal([]byte(vars.String), &inv.Vars); err != nil {
			return nil, fmt.Errorf("invocation %s: vars: %w", runID, err)
		}
	}
	return &inv, nil
}

// NodeResult is the outcome of one node in one invocation. Rows is -1 when
// the node has no row count (views).
type NodeResult struct {
	RunID       string
	NodeID      string
	Status      string
	Rows        int64
	Started     time.Time
	Completed   time.Time
	Message     string
	Fingerprint string
	// Counts is the node's reconciliation; nil records none.
	Counts *RowCounts
}

// RowCounts is the reconciliation of one node in one run; -1 is unknown.
type RowCounts struct {
	Read, Written, Quarantined, Rejected int64
}

// InsertNodeResult records r. Call it inside the transaction that
// publishes the node's data.
func InsertNodeResult(ctx context.Context, db DB, r NodeResult) error {
	if _, err := db.ExecContext(ctx, InsertNodeResultSQL(r)); err != nil {
		return fmt.Errorf("record result of %s: %w", r.NodeID, err)
	}
	return nil
}

// journalEntry is a node result as node_journal keeps it: node_results'
// columns, timestamps in UTC as DuckDB reads them, NULL for unknown counts.
type journalEntry struct {
	RunID           string `json:"run_id"`
	NodeID          string `json:"node_id"`
	Status          string `json:"status"`
	RowsAffected    *int64 `json:"rows_affected"`
	StartedAt       string `json:"started_at"`
	CompletedAt     string `json:"completed_at"`
	Message         string `json:"message"`
	Fingerprint     string `json:"fingerprint"`
	RowsRead        *int64 `json:"rows_read"`
	RowsWritten     *int64 `json:"rows_written"`
	RowsQuarantined *int64 `json:"rows_quarantined"`
	RowsRejected    *int64 `json:"rows_rejected"`
}

// InsertNodeResultSQL is the INSERT statement recording r in node_journal,
// as an escaped literal: without parameters DuckDB runs it several times
// faster, and it runs once per node.
func InsertNodeResultSQL(r NodeResult) string {
	known := func(v int64) *int64 {
		if v < 0 {
			return nil
		}
		return &v
	}
	c := RowCounts{-1, -1, -1, -1}
	if r.Counts != nil {
		c = *r.Counts
	}
	// Strings and numbers only: Marshal cannot fail (invalid UTF-8 in a
	// message becomes U+FFFD, which DuckDB's VARCHAR needs anyway).
	e, _ := json.Marshal(journalEntry{
		RunID: r.RunID, NodeID: r.NodeID, Status: r.Status, RowsAffected: known(r.Rows),
		StartedAt: timestampText(r.Started), CompletedAt: timestampText(r.Completed),
		Message: r.Message, Fingerprint: r.Fingerprint,
		RowsRead: known(c.Read), RowsWritten: known(c.Written), RowsQuarantined: known(c.Quarantined), RowsRejected: known(c.Rejected),
	})
	return "INSERT INTO elt_state.node_journal VALUES (" + quote(string(e)) + ")"
}

// journalRows is node_journal's entries as node_results rows.
const journalRows = `SELECT e->>'run_id' AS run_id, e->>'node_id' AS node_id, e->>'status' AS status,
    CAST(e->>'rows_affected' AS BIGINT) AS rows_affected,
    CAST(e->>'started_at' AS TIMESTAMP) AS started_at, CAST(e->>'completed_at' AS TIMESTAMP) AS completed_at,
    e->>'message' AS message, e->>'fingerprint' AS fingerprint,
    CAST(e->>'rows_read' AS BIGINT) AS rows_read, CAST(e->>'rows_written' AS BIGINT) AS rows_written,
    CAST(e->>'rows_quarantined' AS BIGINT) AS rows_quarantined, CAST(e->>'rows_rejected' AS BIGINT) AS rows_rejected
FROM (SELECT CAST(entry AS JSON) AS e FROM elt_state.node_journal)`

// FoldJournalSQL moves node_journal's entries into node_results. Run it
// inside a transaction, when no node of a run is building.
const FoldJournalSQL = `INSERT INTO elt_state.node_results (run_id, node_id, status, rows_affected, started_at, completed_at,
    message, fingerprint, rows_read, rows_written, rows_quarantined, rows_rejected)
` + journalRows + `;
DELETE FROM elt_state.node_journal`

// allResultsSelect is every node result, filed in node_results or still
// in node_journal (a run's own until it ends, and those a killed run
// committed until the next run files them).
const allResultsSelect = `SELECT run_id, node_id, status, rows_affected, started_at, completed_at, message, fingerprint,
    rows_read, rows_written, rows_quarantined, rows_rejected FROM elt_state.node_results
UNION ALL ` + journalRows

// AllResults is the relation of every node result (see allResultsSelect),
// in a database migrated to version 3.
const AllResults = "elt_state.all_node_results"

// HasNodeResultSQL is a query returning how many results run runID
// recorded for nodeID: after a node's COMMIT, non-zero proves the commit
// kept the node's work.
func HasNodeResultSQL(runID, nodeID string) string {
	return "SELECT count(*) FROM " + AllResults + " WHERE run_id = " + quote(runID) + " AND node_id = " + quote(nodeID)
}

// HasNodeResult reports whether run runID recorded a result for nodeID.
func HasNodeResult(ctx context.Context, db DB, runID, nodeID string) (bool, error) {
	var n int64
	if err := db.QueryRowContext(ctx, HasNodeResultSQL(runID, nodeID)).Scan(&n); err != nil {
		return false, fmt.Errorf("read result of %s: %w", nodeID, err)
	}
	return n > 0, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func timestamp(t time.Time) string { return "TIMESTAMP '" + timestampText(t) + "'" }

func timestampText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") }

// NodeResults returns every node result of run runID, ordered by node id.
// It reads all of node_results: its cost grows with the history (28 ms at
// a million results).
func NodeResults(ctx context.Context, db DB, runID string) ([]NodeResult, error) {
	return nodeResults(ctx, db, AllResults, runID)
}

// JournaledResults returns the node results of run runID still in
// node_journal, ordered by node id: a run's own results until it files
// them (FoldJournalSQL), read without scanning node_results. A result
// another run has filed meanwhile is not among them.
func JournaledResults(ctx context.Context, db DB, runID string) ([]NodeResult, error) {
	return nodeResults(ctx, db, "("+journalRows+")", runID)
}

func nodeResults(ctx context.Context, db DB, relation, runID string) ([]NodeResult, error) {
	rows, err := db.QueryContext(ctx, `SELECT run_id, node_id, status, rows_affected, started_at, completed_at, message, fingerprint
FROM `+relation+` WHERE run_id = ? ORDER BY node_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read results of %s: %w", runID, err)
	}
	defer rows.Close()
	var out []NodeResult
	for rows.Next() {
		var (
			r        NodeResult
			n        sql.NullInt64
			msg, fpr sql.NullString
		)
		if err := rows.Scan(&r.RunID, &r.NodeID, &r.Status, &n, &r.Started, &r.Completed, &msg, &fpr); err != nil {
			return nil, fmt.Errorf("read results of %s: %w", runID, err)
		}
		r.Rows = -1
		if n.Valid {
			r.Rows = n.Int64
		}
		r.Message, r.Fingerprint = msg.String, fpr.String
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of %s: %w", runID, err)
	}
	return out, nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

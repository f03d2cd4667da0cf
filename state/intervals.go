package state

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// intervalTables hold the interval ledger of microbatch models, and what
// `elt retry` needs of the last invocation: its parameters and the nodes
// that failed or were skipped.
//
// A row of intervals says the node's data for [interval_start,
// interval_end) was built by the model version fingerprint; it is written
// in the transaction that writes that data, so ledger and data never
// disagree. invocation_params holds one JSON document per invocation that
// builds nodes; node_outcomes one row per node that did not succeed.
var intervalTables = []string{
	`CREATE TABLE IF NOT EXISTS elt_state.intervals (
    node_id        VARCHAR NOT NULL,
    interval_start TIMESTAMP NOT NULL,
    interval_end   TIMESTAMP NOT NULL,
    fingerprint    VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    rows_affected  BIGINT,
    completed_at   TIMESTAMP NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS elt_state.invocation_params (
    run_id     VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    params     VARCHAR NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS elt_state.node_outcomes (
    run_id  VARCHAR NOT NULL,
    node_id VARCHAR NOT NULL,
    status  VARCHAR NOT NULL,
    message VARCHAR
)`,
}

// Interval is one ledger row: node NodeID's data for [Start, End) built
// by the model version Fingerprint in run RunID.
type Interval struct {
	NodeID      string
	Start, End  time.Time
	Fingerprint string
	RunID       string
	Rows        int64
	Completed   time.Time
}

// RecordIntervalsSQL returns the statements that make each of ivs node
// nodeID's one ledger row for its Start, replacing an older one (the
// intervals' NodeID is not read); "" for none. Run them in the
// transaction that writes the intervals' data. They are two statements
// however many intervals share the transaction: a DELETE and an INSERT per
// interval cost a 30-day backfill 20 ms more.
func RecordIntervalsSQL(nodeID string, ivs []Interval) string {
	if len(ivs) == 0 {
		return ""
	}
	starts, values := make([]string, len(ivs)), make([]string, len(ivs))
	for i, iv := range ivs {
		rows := "NULL"
		if iv.Rows >= 0 {
			rows = strconv.FormatInt(iv.Rows, 10)
		}
		starts[i] = timestamp(iv.Start)
		values[i] = "(" + quote(nodeID) + ", " + timestamp(iv.Start) + ", " + timestamp(iv.End) + ", " +
			quote(iv.Fingerprint) + ", " + quote(iv.RunID) + ", " + rows + ", " + timestamp(iv.Completed) + ")"
	}
	return replaceRowsSQL("elt_state.intervals", nodeID, "interval_start", starts, values)
}

// replaceRowsSQL returns the statements inserting rows (SQL tuples) into
// table, after deleting, when keyColumn is not "", nodeID's rows whose
// keyColumn is among keys: two statements however many rows.
func replaceRowsSQL(table, nodeID, keyColumn string, keys, rows []string) string {
	insert := "INSERT INTO " + table + " VALUES\n  " + strings.Join(rows, ",\n  ")
	if keyColumn == "" {
		return insert
	}
	return "DELETE FROM " + table + " WHERE node_id = " + quote(nodeID) + " AND " + keyColumn + " IN (" + strings.Join(keys, ", ") + ")" +
		";\n" + insert
}

// ClearIntervalsSQL returns the statement forgetting every interval of
// nodeID (a full refresh rebuilds them all).
func ClearIntervalsSQL(nodeID string) string {
	return "DELETE FROM elt_state.intervals WHERE node_id = " + quote(nodeID)
}

// Intervals returns the ledger of nodeID, ordered by start.
func Intervals(ctx context.Context, db DB, nodeID string) ([]Interval, error) {
	rows, err := db.QueryContext(ctx, `SELECT node_id, interval_start, interval_end, fingerprint, run_id, rows_affected, completed_at
FROM elt_state.intervals WHERE node_id = ? ORDER BY interval_start`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("read intervals of %s: %w", nodeID, err)
	}
	defer rows.Close()
	var out []Interval
	for rows.Next() {
		var (
			iv Interval
			n  sql.NullInt64
		)
		if err := rows.Scan(&iv.NodeID, &iv.Start, &iv.End, &iv.Fingerprint, &iv.RunID, &n, &iv.Completed); err != nil {
			return nil, fmt.Errorf("read intervals of %s: %w", nodeID, err)
		}
		iv.Rows = -1
		if n.Valid {
			iv.Rows = n.Int64
		}
		iv.Start, iv.End, iv.Completed = iv.Start.UTC(), iv.End.UTC(), iv.Completed.UTC()
		out = append(out, iv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read intervals of %s: %w", nodeID, err)
	}
	return out, nil
}

// SaveParams records the parameters of run runID (a JSON document the
// caller defines) so that `elt retry` can repeat them.
func SaveParams(ctx context.Context, db DB, runID string, started time.Time, params []byte) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO elt_state.invocation_params VALUES (?, ?, ?)`, runID, started.UTC(), string(params)); err != nil {
		return fmt.Errorf("record parameters of %s: %w", runID, err)
	}
	return nil
}

// LastParams returns the run id and parameters of the most recent
// invocation that recorded any, or sql.ErrNoRows (wrapped) when none did.
func LastParams(ctx context.Context, db DB) (runID string, params []byte, err error) {
	var p string
	err = db.QueryRowContext(ctx, `SELECT run_id, params FROM elt_state.invocation_params ORDER BY started_at DESC, rowid DESC LIMIT 1`).Scan(&runID, &p)
	if err != nil {
		return "", nil, fmt.Errorf("last invocation: %w", err)
	}
	return runID, []byte(p), nil
}

// Outcome is a node of an invocation that did not succeed.
type Outcome struct {
	NodeID  string
	Status  string // error, skipped
	Message string
}

// RecordOutcomes records the nodes of run runID that did not succeed.
func RecordOutcomes(ctx context.Context, db DB, runID string, outs []Outcome) error {
	for _, o := range outs {
		if _, err := db.ExecContext(ctx, `INSERT INTO elt_state.node_outcomes VALUES (?, ?, ?, ?)`, runID, o.NodeID, o.Status, o.Message); err != nil {
			return fmt.Errorf("record outcome of %s: %w", o.NodeID, err)
		}
	}
	return nil
}

// Outcomes returns the nodes of run runID that did not succeed, by node id.
func Outcomes(ctx context.Context, db DB, runID string) ([]Outcome, error) {
	rows, err := db.QueryContext(ctx, `SELECT node_id, status, coalesce(message, '') FROM elt_state.node_outcomes WHERE run_id = ? ORDER BY node_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read outcomes of %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Outcome
	for rows.Next() {
		var o Outcome
		if err := rows.Scan(&o.NodeID, &o.Status, &o.Message); err != nil {
			return nil, fmt.Errorf("read outcomes of %s: %w", runID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

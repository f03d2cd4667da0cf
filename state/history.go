package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// historyTables hold the run history: one row per finished invocation
// (manual or scheduled) with its job and slot, its outcome, the nodes that
// failed and the first error. elt_state.invocations keeps the row the
// runner writes when a run starts; run_history completes it once the run
// has ended, and stands alone for scheduled commands that never reached
// the runner (a project that no longer compiles).
var historyTables = []string{
	`CREATE TABLE IF NOT EXISTS elt_state.run_history (
    run_id        VARCHAR NOT NULL,
    job           VARCHAR,
    trigger       VARCHAR NOT NULL,
    command       VARCHAR NOT NULL,
    slot_start    TIMESTAMPTZ,
    slot_end      TIMESTAMPTZ,
    attempt       INTEGER NOT NULL,
    vars          VARCHAR,
    status        VARCHAR NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    completed_at  TIMESTAMP NOT NULL,
    nodes_total   INTEGER NOT NULL,
    nodes_failed  VARCHAR NOT NULL,
    first_error   VARCHAR
)`,
}

// Warn is the status of a run whose nodes all succeeded but some warned.
const Warn = "warn"

// Triggers of a run.
const (
	Manual    = "manual"
	Scheduled = "schedule"
)

// RunRecord is one finished run in the history. Job is empty and the slot
// zero for a manual run; NodesFailed lists the ids of the nodes that ended
// in error or fail.
type RunRecord struct {
	RunID       string
	Job         string
	Trigger     string // Manual or Scheduled
	Command     string // the elt command line, e.g. "build -s tag:daily"
	SlotStart   time.Time
	SlotEnd     time.Time
	Attempt     int
	Vars        map[string]any
	Status      string // Success, Warn, Error or Cancelled
	Started     time.Time
	Completed   time.Time
	NodesTotal  int
	NodesFailed []string
	FirstError  string
}

// recordWindow is how far before a record's start RecordRun looks for an
// earlier record of the same run to replace.
const recordWindow = 7 * 24 * time.Hour

// RecordRun writes r, replacing an earlier record of the same run id
// started at most recordWindow before it. It
// migrates elt_state first, so it works on a database no run has touched.
func RecordRun(ctx context.Context, db DB, r RunRecord) error {
	if err := Migrate(ctx, db); err != nil {
		return err
	}
	vars, err := json.Marshal(r.Vars)
	if err != nil {
		return fmt.Errorf("record run %s: vars: %w", r.RunID, err)
	}
	if r.Vars == nil {
		vars = []byte("{}")
	}
	failed, _ := json.Marshal(append([]string{}, r.NodesFailed...))
	// An earlier record of this run id is one of the same run, recorded
	// with the same start (or, for a run that never started, when it was
	// recorded): the bound lets DuckDB skip the history's older row groups
	// by their zone maps instead of reading every run id (6–8 ms at
	// 100,000 runs, 1.4 ms bounded).
	if _, err := db.ExecContext(ctx, `DELETE FROM elt_state.run_history WHERE run_id = ? AND started_at >= ?`,
		r.RunID, r.Started.UTC().Add(-recordWindow)); err != nil {
		return fmt.Errorf("record run %s: %w", r.RunID, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO elt_state.run_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.RunID, nullString(r.Job), r.Trigger, r.Command, nullTime(r.SlotStart), nullTime(r.SlotEnd), max(r.Attempt, 1),
		string(vars), r.Status, r.Started.UTC(), r.Completed.UTC(), r.NodesTotal, string(failed), nullString(r.FirstError))
	if err != nil {
		return fmt.Errorf("record run %s: %w", r.RunID, err)
	}
	return nil
}

const historyColumns = `run_id, job, trigger, command, slot_start, slot_end, attempt, vars, status,
started_at, completed_at, nodes_total, nodes_failed, first_error`

// JobRuns returns every recorded run of job, oldest slot first (attempts of
// a slot in the order they started). A database without elt_state has none.
func JobRuns(ctx context.Context, db DB, job string) ([]RunRecord, error) {
	if ok, err := hasHistory(ctx, db); err != nil || !ok {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+historyColumns+` FROM elt_state.run_history
WHERE job = ? ORDER BY slot_end, started_at`, job)
	if err != nil {
		return nil, fmt.Errorf("read runs of job %s: %w", job, err)
	}
	return scanRuns(rows)
}

// PreviousStatus returns the status of the latest run before started that
// finished (success, warn or error; cancelled runs are passed over) and
// belongs to job — or, when job is empty, is a manual run of command. It
// returns "" when there is none.
func PreviousStatus(ctx context.Context, db DB, job, command string, started time.Time) (string, error) {
	if ok, err := hasHistory(ctx, db); err != nil || !ok {
		return "", err
	}
	q := `SELECT status FROM elt_state.run_history WHERE job = ? AND status <> 'cancelled' AND started_at < ?
ORDER BY started_at DESC LIMIT 1`
	args := []any{job, started.UTC()}
	if job == "" {
		q = `SELECT status FROM elt_state.run_history WHERE job IS NULL AND command = ? AND status <> 'cancelled' AND started_at < ?
ORDER BY started_at DESC LIMIT 1`
		args = []any{command, started.UTC()}
	}
	var s string
	switch err := db.QueryRowContext(ctx, q, args...).Scan(&s); err {
	case nil:
		return s, nil
	case sql.ErrNoRows:
		return "", nil
	default:
		return "", fmt.Errorf("read previous run: %w", err)
	}
}

// History returns the latest runs, newest first: every run_history record,
// and every invocation the runner recorded without one (a run still going,
// or one that ended by a crash) with its status from elt_state.invocations.
// job, when not empty, keeps the runs of that job; limit <= 0 means all.
func History(ctx context.Context, db DB, job string, limit int) ([]RunRecord, error) {
	if ok, err := hasHistory(ctx, db); err != nil || !ok {
		return nil, err
	}
	q := `SELECT ` + historyColumns + ` FROM (
  SELECT ` + historyColumns + ` FROM elt_state.run_history
  UNION ALL BY NAME
  SELECT i.run_id, NULL AS job, 'manual' AS trigger,
         i.command || CASE WHEN coalesce(i.selector, '') = '' THEN '' ELSE ' -s ' || i.selector END AS command,
         NULL::TIMESTAMPTZ AS slot_start, NULL::TIMESTAMPTZ AS slot_end, 1 AS attempt, i.vars, i.status,
         i.started_at, i.completed_at, 0 AS nodes_total, '[]' AS nodes_failed, NULL AS first_error
  FROM elt_state.invocations i
  WHERE i.run_id NOT IN (SELECT run_id FROM elt_state.run_history)
)`
	var args []any
	if job != "" {
		q += ` WHERE job = ?`
		args = append(args, job)
	}
	q += ` ORDER BY started_at DESC, run_id`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read run history: %w", err)
	}
	return scanRuns(rows)
}

// hasHistory reports whether the database has the run_history table.
func hasHistory(ctx context.Context, db DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'elt_state' AND table_name IN ('run_history', 'invocations')`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read run history: %w", err)
	}
	return n == 2, nil
}

func scanRuns(rows *sql.Rows) ([]RunRecord, error) {
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		var (
			r                  RunRecord
			job, vars, first   sql.NullString
			slotStart, slotEnd sql.NullTime
			completed          sql.NullTime
			failed             string
		)
		if err := rows.Scan(&r.RunID, &job, &r.Trigger, &r.Command, &slotStart, &slotEnd, &r.Attempt, &vars, &r.Status,
			&r.Started, &completed, &r.NodesTotal, &failed, &first); err != nil {
			return nil, fmt.Errorf("read run history: %w", err)
		}
		r.Job, r.FirstError = job.String, first.String
		r.SlotStart, r.SlotEnd, r.Completed = slotStart.Time, slotEnd.Time, completed.Time
		if vars.Valid && strings.TrimSpace(vars.String) != "" {
			_ = json.Unmarshal([]byte(vars.String), &r.Vars)
		}
		_ = json.Unmarshal([]byte(failed), &r.NodesFailed)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read run history: %w", err)
	}
	return out, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// Backfill bounds a backfill: microbatch models build the intervals that
// meet the dates Start..End (both inclusive, UTC), in order; Restate
// rebuilds those already done.
type Backfill struct {
	Start, End time.Time
	Restate    bool
}

// Interval is one batch of a microbatch model: [Start, End).
type Interval struct {
	Start, End time.Time
}

func (iv Interval) String() string {
	return iv.Start.Format(batchTimeLayout) + " to " + iv.End.Format(batchTimeLayout)
}

const batchTimeLayout = "2006-01-02 15:04:05"

// TruncateTime returns the start of the batch_size interval holding t (UTC).
func TruncateTime(t time.Time, size string) time.Time {
	t = t.UTC()
	switch size {
	case "hour":
		return t.Truncate(time.Hour)
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "year":
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// NextTime returns the start of the interval after the one starting at t.
func NextTime(t time.Time, size string) time.Time {
	switch size {
	case "hour":
		return t.Add(time.Hour)
	case "month":
		return t.AddDate(0, 1, 0)
	case "year":
		return t.AddDate(1, 0, 0)
	}
	return t.AddDate(0, 0, 1)
}

// Intervals lists the batch_size intervals from the one holding lo up to
// the last one starting before hi, in order.
func Intervals(lo, hi time.Time, size string) []Interval {
	var out []Interval
	for s := TruncateTime(lo, size); s.Before(hi); s = NextTime(s, size) {
		out = append(out, Interval{Start: s, End: NextTime(s, size)})
	}
	return out
}

// ParseTime reads a begin config or a command-line date: YYYY-MM-DD,
// "YYYY-MM-DD HH:MM:SS", or RFC 3339; UTC unless an offset is given.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", batchTimeLayout, "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date — write YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", s)
}

// DueIntervals returns the intervals a microbatch run must build, in
// order. A plain run covers the complete intervals from begin to now (the
// interval holding now is not complete yet, so it waits for a later run)
// and builds those not in done, plus the last lookback ones again; a
// backfill covers the intervals meeting its dates and builds those not in
// done, or all with Restate. full (a full refresh) builds every interval
// of the window.
func DueIntervals(begin, now time.Time, size string, lookback int, bf *Backfill, full bool, done map[time.Time]bool) []Interval {
	var window []Interval
	if bf != nil {
		window = Intervals(bf.Start, bf.End.AddDate(0, 0, 1), size)
	} else {
		window = Intervals(begin, TruncateTime(now, size), size)
	}
	redo := full || (bf != nil && bf.Restate)
	var out []Interval
	for i, iv := range window {
		inLookback := bf == nil && lookback > 0 && i >= len(window)-lookback
		if redo || inLookback || !done[iv.Start] {
			out = append(out, iv)
		}
	}
	return out
}

// executeMicrobatch builds a microbatch model interval by interval. Each
// due interval is built in a transaction on the node's connection: hooks,
// the batch (the model's SQL with the interval's bounds substituted), the
// replacement of the target's rows in the interval, and the interval's
// ledger row in elt_state — so the ledger always matches the data, and a
// crash loses at most the transaction in flight. Consecutive intervals
// share a transaction until their work has taken Options.CommitIntervalsAfter
// (each COMMIT of a small interval costs DuckDB a WAL write and an fsync,
// more than the interval's rows); zero commits every interval, as do
// models with hooks. The node's result row travels with the last interval.
// The first failing interval stops the node, after the intervals before it
// are committed (a failure in a shared transaction builds its earlier
// intervals again, without the failing one, which runs once; a failed
// COMMIT builds the group again one interval per transaction); a later run
// resumes there, since those are done.
//
// An interval is done when the ledger has it for the model's current
// fingerprint (any fingerprint with forward_only). A full refresh, or a
// target that is missing, rebuilds every interval, the first one
// recreating the table and clearing the ledger in its transaction.
func (r *run) executeMicrobatch(ctx context.Context, n *manifest.Node, in materialize.Input, nr NodeResult) NodeResult {
	done := func(msg string) NodeResult {
		nr.Completed = time.Now()
		nr.Duration = nr.Completed.Sub(nr.Started)
		nr.Message = msg
		return nr
	}
	fail := func(err error) NodeResult { return done(posPrefix(n.Pos) + err.Error()) }
	if _, err := materialize.Incremental(in); err != nil {
		return fail(err)
	}
	size := n.Config.BatchSize
	begin, err := ParseTime(n.Config.Begin)
	if err != nil {
		return fail(fmt.Errorf("begin: %v", err))
	}
	now := r.opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	nr.Relation = warehouse.Relation(in.Schema, in.Name)

	c, err := r.db.Conn(ctx)
	if err != nil {
		return done(r.errorMessage(ctx, n, "", err))
	}
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	ledger, err := state.Intervals(ctx, c, string(n.ID))
	if err != nil {
		return done(r.errorMessage(ctx, n, "", err))
	}
	full := materialize.FullRebuild(in)
	doneSet := map[time.Time]bool{}
	for _, iv := range ledger {
		if iv.Fingerprint == n.Fingerprint || n.Config.ForwardOnly {
			doneSet[iv.Start] = true
		}
	}
	b := &intervalBuild{r: r, n: n, in: in, nr: &nr, full: full,
		hooked: len(n.Config.PreHook) > 0 || len(n.Config.PostHook) > 0,
		due:    DueIntervals(begin, now, size, n.Config.Lookback, r.opts.Backfill, full, doneSet)}

	nr.Rows = -1
	// Intervals share a transaction only without hooks: a hook may need a
	// transaction of its own (CHECKPOINT refuses one holding changes).
	commitAfter := r.opts.CommitIntervalsAfter
	if b.hooked {
		commitAfter = 0
	}
	// The build ends before due[stop]: stop is len(due), or the interval
	// whose failure (failed) rolled back a shared transaction, once the
	// intervals before it are built again.
	stop, failed := len(b.due), ""
	// failure is the node's message for msg, after the first failure, if
	// any, that rolled back a shared transaction.
	failure := func(msg string) string {
		if failed == "" {
			return msg
		}
		return failed + "; then, building the intervals before it again, " + msg
	}
	for next := 0; next < stop; {
		first, write := next, b.write
		began := time.Now()
		at, step, rows := next, "", int64(-1)
		inBuild := false // the failure, if any, is interval at's, not the COMMIT's
		err := c.InTx(ctx, func(tx *warehouse.Tx) error {
			b.ledger = b.ledger[:0]
			for at = next; ; at++ {
				var err error
				if rows, step, err = b.build(ctx, tx, at); err != nil {
					inBuild = true
					return err
				}
				if at == stop-1 || commitAfter <= 0 || time.Since(began) >= commitAfter {
					tx.Finally(state.RecordIntervalsSQL(string(n.ID), b.ledger))
					return failpoint("interval-before-commit")
				}
			}
		})
		if err != nil && at > first && commitAfter > 0 && ctx.Err() == nil {
			// Intervals shared the failed transaction. When one of them
			// failed, those before it are built again without it, and the
			// node stops at it with its error, without running it again;
			// a transient failure is retried with the node, from there.
			// When the COMMIT failed, no interval is to blame: the group
			// is built again one interval per transaction. The connection
			// goes back to the pool first (dropped if the failure spoiled
			// it).
			if inBuild {
				failed = failure(fmt.Sprintf("interval %s: %s", b.due[at], r.errorMessage(ctx, n, step, err)))
				stop = at
			} else {
				commitAfter = 0
			}
			b.write = write
			c.Close()
			if c, err = r.db.Conn(ctx); err != nil { // c is nil
				return done(failure(r.errorMessage(ctx, n, "", err)))
			}
			continue
		}
		if err != nil {
			return done(failure(fmt.Sprintf("interval %s: %s", b.due[at], r.errorMessage(ctx, n, step, err))))
		}
		if at == len(b.due)-1 {
			nr.Rows = rows
		}
		if err := failpoint("interval-after-commit"); err != nil {
			return done(failure(fmt.Sprintf("interval %s: %v", b.due[at], err)))
		}
		next = at + 1
	}
	if failed != "" {
		return done(failed)
	}
	if len(b.due) == 0 {
		if err := r.recordSuccess(ctx, c, n, &nr, in.Existing == materialize.ExistingTable); err != nil {
			return done(r.errorMessage(ctx, n, "", err))
		}
	}
	nr.Status = StatusSuccess
	return done("")
}

// intervalBuild is one node's microbatch build: its due intervals and
// what building them has settled.
type intervalBuild struct {
	r    *run
	n    *manifest.Node
	in   materialize.Input
	nr   *NodeResult
	full bool
	// hooked: the model has pre or post hooks, which may write anything.
	hooked bool
	due    []Interval
	// write is the target's columns the batches fill, known once the first
	// batch of this run went through the full path (batch table, schema
	// check, Publish). Later batches bind the same SQL to the same types,
	// so they replace their interval straight from the model's query.
	write []string
	// fresh, set with write, says that first batch created the target
	// (see firstBatch) and the model has no hooks: the target holds only
	// this run's batches, each in its own interval, so a later interval
	// has no rows to delete.
	fresh bool
	// ledger is the ledger rows of the intervals built in the open
	// transaction, written with its COMMIT.
	ledger []state.Interval
}

// build builds due interval i inside tx: hooks, the batch, the ledger row
// (added to b.ledger, which the caller writes with tx's COMMIT), and after
// the last interval the node's result row.
// It returns the target's row count when it counted it (the first batch of
// the run and the last interval), else -1; on failure, the failing step for
// the message ("" for the model's own SQL).
func (b *intervalBuild) build(ctx context.Context, tx *warehouse.Tx, i int) (rows int64, step string, err error) {
	r, n, iv := b.r, b.n, b.due[i]
	last := i == len(b.due)-1
	bin := b.in
	bin.BatchStart, bin.BatchEnd = iv.Start.Format(batchTimeLayout), iv.End.Format(batchTimeLayout)
	bin.SQL = strings.NewReplacer(manifest.BatchStartToken, bin.BatchStart, manifest.BatchEndToken, bin.BatchEnd).Replace(b.in.SQL)
	if i > 0 {
		bin.Existing = materialize.ExistingTable // the first batch created it
	}
	rows = -1
	for j, h := range n.Config.PreHook {
		if err := tx.ExecAlone(ctx, h); err != nil {
			return -1, fmt.Sprintf("pre_hook %d", j+1), err
		}
	}
	if b.write == nil {
		plan, err := materialize.Build(bin)
		if err != nil {
			return -1, "", err
		}
		recreate := b.full && i == 0
		if recreate {
			tx.Finally(state.ClearIntervalsSQL(string(n.ID)))
		}
		var created bool
		if rows, b.write, created, err = r.firstBatch(ctx, tx, bin, plan, recreate); err != nil {
			return -1, "", err
		}
		b.fresh = created && !b.hooked
	} else {
		stmts := materialize.MicrobatchReplace(bin, b.write, b.fresh)
		if last {
			if rows, err = countAfter(ctx, tx, stmts, b.nr.Relation); err != nil {
				return -1, "", err
			}
		} else if err := tx.Exec(ctx, strings.Join(stmts, "\n;\n")); err != nil {
			return -1, "", err
		}
	}
	for j, h := range n.Config.PostHook {
		if err := tx.ExecAlone(ctx, h); err != nil {
			return -1, fmt.Sprintf("post_hook %d", j+1), err
		}
	}
	if err := failpoint("interval-after-build"); err != nil {
		return -1, "", err
	}
	b.ledger = append(b.ledger, state.Interval{
		NodeID: string(n.ID), Start: iv.Start, End: iv.End, Fingerprint: n.Fingerprint,
		RunID: r.opts.InvocationID, Rows: rows, Completed: time.Now(),
	})
	if last {
		if err := r.profileBatched(ctx, tx, n, b.nr.Relation); err != nil {
			return -1, "column profile", err
		}
		tx.Finally(state.InsertNodeResultSQL(state.NodeResult{
			RunID: r.opts.InvocationID, NodeID: string(n.ID), Status: StatusSuccess, Rows: rows,
			Started: b.nr.Started, Completed: time.Now(), Fingerprint: n.Fingerprint,
		}))
	}
	return rows, "", nil
}

// recordSuccess writes n's successful result row in a transaction of its
// own, for nodes whose data was committed batch by batch before, with the
// target's row count and the profile a drift test of n compares with when
// count is set (the table exists).
func (r *run) recordSuccess(ctx context.Context, c *warehouse.Conn, n *manifest.Node, nr *NodeResult, count bool) error {
	return c.InTx(ctx, func(tx *warehouse.Tx) error {
		if count {
			rows, err := tx.RowCount(ctx, nr.Relation)
			if err != nil {
				return err
			}
			nr.Rows = rows
		}
		if count { // no table yet (no events, or begin ahead): nothing to profile
			if err := r.profileBatched(ctx, tx, n, nr.Relation); err != nil {
				return err
			}
		}
		tx.Finally(state.InsertNodeResultSQL(state.NodeResult{
			RunID: r.opts.InvocationID, NodeID: string(n.ID), Status: StatusSuccess, Rows: nr.Rows,
			Started: nr.Started, Completed: time.Now(), Fingerprint: n.Fingerprint,
		}))
		return nil
	})
}

// profileBatched stores, with tx's COMMIT, the column profile of n's table
// (target) when a drift test watches n or n's config says profile:
// microbatch and stream models, built batch by batch, are profiled once
// per build, with their node result.
func (r *run) profileBatched(ctx context.Context, tx *warehouse.Tx, n *manifest.Node, target string) error {
	if !r.drifted[n.ID] && !n.Config.Profile {
		return nil
	}
	s, err := r.profileSQL(ctx, tx, n, target)
	if err == nil && s != "" {
		tx.Finally(s)
	}
	return err
}

// firstBatch runs the first batch of a run through the full incremental
// path and returns the target's row count and the columns the batches
// write: all the batch's columns for a new table, else those
// materialize.SchemaChange keeps. created says the batch created the
// target (a new table, or a full refresh) and later intervals of the run
// are disjoint from what it holds: not when the event_time column is a
// TIMESTAMP WITH TIME ZONE, whose interval bounds DuckDB reads in the
// session's time zone, where a daylight-saving jump longer than an
// interval maps two intervals onto the same instants.
func (r *run) firstBatch(ctx context.Context, tx *warehouse.Tx, in materialize.Input, plan materialize.Plan, recreate bool) (rows int64, write []string, created bool, err error) {
	rows, err = r.runIncrementalCols(ctx, tx, in, plan, recreate, func(targetCols, batchCols []materialize.Column) error {
		if len(targetCols) == 0 {
			created = true
			for _, c := range batchCols {
				write = append(write, c.Name)
				if strings.EqualFold(c.Name, in.Config.EventTime) && normType(c.Type) == "TIMESTAMP WITH TIME ZONE" {
					created = false
				}
			}
			return nil
		}
		_, w, err := materialize.SchemaChange(in.Config.OnSchemaChange, plan.Target, targetCols, batchCols)
		write = w
		return err
	})
	return rows, write, created, err
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// execute builds one node on its own connection inside one transaction:
// pre_hooks, the plan's build and publish statements, the row count,
// post_hooks, and the elt_state result row, which is inserted in the same
// call as COMMIT so its success proves the transaction alive at COMMIT.
// Any error rolls everything back. Run checks afterwards that every
// successful node's row is really in the database.
//
// A table whose build goes on to scan what it built (audits, quarantine,
// a drift profile) is built in two transactions instead (see
// stagedBuild): the first commits its staging table, unpublished; the
// second publishes it, audits it and records its result, so the target
// and the state row still change together or not at all.
func (r *run) execute(ctx context.Context, n *manifest.Node) NodeResult {
	if n.ResourceType == manifest.Test {
		return r.runTest(ctx, n)
	}
	nr := NodeResult{NodeID: n.ID, Status: StatusError, Rows: -1, Relation: n.Relation,
		CompiledPath: n.CompiledPath, Started: time.Now(), Failures: -1,
		RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
	done := func(msg string) NodeResult {
		nr.Completed = time.Now()
		nr.Duration = nr.Completed.Sub(nr.Started)
		nr.Message = msg
		return nr
	}
	if n.ResourceType == manifest.Model {
		if err := r.sources.check(n); err != nil {
			return done(err.Error())
		}
	}
	in := materialize.Input{
		Resource: n.ResourceType, Schema: schemaOf(n), Name: nameOf(n), SQL: n.CompiledSQL,
		Config: n.Config, FullRefresh: r.opts.FullRefresh, Now: nr.Started.UTC(),
	}
	if n.Seed != nil {
		in.SeedPath = n.Seed.Path
	}
	if rel, ok := r.existing[warehouse.Relation(in.Schema, in.Name)]; ok {
		in.Existing = string(rel.Kind)
	}
	if n.IsMicrobatch() {
		return r.executeMicrobatch(ctx, n, in, nr)
	}
	if n.IsStream() {
		return r.executeStream(ctx, n, nr)
	}
	if n.Config.Materialized == "external" {
		in.Location, in.WriteDir = r.externalDirs(n, in.Name)
	}
	plan, err := materialize.BuildChecked(in, r.opts.InvocationID)
	if err != nil {
		return done(posPrefix(n.Pos) + err.Error())
	}
	nr.Relation = plan.Target

	c, err := r.db.Conn(ctx)
	if err != nil {
		return done(r.errorMessage(ctx, n, "", err))
	}
	defer c.Close()
	var failedStep string
	rejects := r.rejectSources(n)
	staged := r.stagedBuild(n, plan)
	if staged {
		err = c.InTx(ctx, func(tx *warehouse.Tx) error {
			if err := clearRejects(ctx, tx, rejects); err != nil {
				return err
			}
			rows, err := r.buildStaging(ctx, tx, plan)
			if err != nil {
				failedStep = stepPlan
			}
			nr.Rows = rows
			return err
		})
		if err != nil {
			return done(r.planFailure(ctx, c, n, plan, failedStep, err))
		}
		if err := failpoint("node-staged"); err != nil {
			return done(err.Error())
		}
	}
	err = c.InTx(ctx, func(tx *warehouse.Tx) error {
		if staged {
			// The rest of the build (quarantine) reads the committed
			// staging table, then Publish swaps it in. The rest may delete
			// rows from it (an incremental model's quarantine does): then
			// the target is counted after it, not taken from the main
			// statement's count.
			rest := append(append([]string(nil), plan.Build[plan.Main+1:]...), plan.Publish...)
			if plan.Main == len(plan.Build)-1 {
				if err := tx.Exec(ctx, strings.Join(rest, "\n;\n")); err != nil {
					return err
				}
			} else {
				rows, err := countAfter(ctx, tx, rest, plan.Target)
				if err != nil {
					return err
				}
				nr.Rows = rows
			}
		} else if err := r.buildInTx(ctx, tx, n, in, plan, rejects, &nr, &failedStep); err != nil {
			return err
		}
		if err := r.audit(ctx, tx, n, plan.Target, &nr); err != nil {
			return err
		}
		// The state row's completed_at is taken just before COMMIT.
		tx.Finally(state.InsertNodeResultSQL(state.NodeResult{
			RunID: r.opts.InvocationID, NodeID: string(n.ID), Status: StatusSuccess, Rows: nr.Rows,
			Started: nr.Started, Completed: time.Now(), Fingerprint: n.Fingerprint, Counts: nr.audit.counts,
		}))
		return nil
	})
	if err != nil {
		nr.Rows = -1
		if staged {
			// Best effort: the next run drops a staging table left behind.
			_, _ = c.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+plan.Staging)
		}
		return done(r.planFailure(ctx, c, n, plan, failedStep, err))
	}
	nr.Status = StatusSuccess
	if nr.audit != nil && nr.audit.profileAfterCommit {
		r.profiles.add(n, plan.Target)
	}
	return done(nr.Message) // e.g. how many source rows were rejected
}

// buildInTx runs n's build in tx: pre_hooks, the plan and post_hooks. It
// sets nr.Rows, and step to the step that failed.
func (r *run) buildInTx(ctx context.Context, tx *warehouse.Tx, n *manifest.Node, in materialize.Input, plan materialize.Plan,
	rejects []rejectSource, nr *NodeResult, step *string) error {
	if err := clearRejects(ctx, tx, rejects); err != nil {
		return err
	}
	for i, h := range n.Config.PreHook {
		if err := tx.ExecAlone(ctx, h); err != nil {
			*step = fmt.Sprintf("pre_hook %d", i+1)
			return err
		}
	}
	rows, err := r.runNodePlan(ctx, tx, in, plan)
	if err != nil {
		*step = stepPlan
		return err
	}
	nr.Rows = rows
	for i, h := range n.Config.PostHook {
		if err := tx.ExecAlone(ctx, h); err != nil {
			*step = fmt.Sprintf("post_hook %d", i+1)
			return err
		}
	}
	return nil
}

// planFailure renders the message of a node whose transaction failed at
// step (stepPlan: in the plan's build batch, whose statement DuckDB does
// not locate; Diagnose re-runs the main statement alone for its LINE).
func (r *run) planFailure(ctx context.Context, c *warehouse.Conn, n *manifest.Node, plan materialize.Plan, step string, err error) string {
	if step == stepPlan {
		step = ""
		if warehouse.BeforeExecution(err) && ctx.Err() == nil {
			if derr := c.Diagnose(ctx, plan.Build[:plan.Main], plan.Build[plan.Main]); derr != nil {
				err = derr
			}
		}
	}
	return r.errorMessage(ctx, n, step, err)
}

// stagedBuild reports whether n's table is built in two transactions: its
// staging table created and committed first, then the rest of the build
// (quarantine), the publish, the audits, the drift profile and the state
// row in a second one. DuckDB scans a table created in the scanning
// transaction itself 3–4 times slower than a committed one (its
// transaction-local storage), which made a model's audit tests cost more
// than its build; so tables whose build goes on to scan what it created
// take this path. The target and elt_state still change together or not
// at all: a failed audit leaves both as they were, and only the
// unpublished staging table behind (dropped after a failure, and by the
// next run after a crash: see dropLeftStaging). Nodes with hooks, which may write
// anything, keep one transaction, as do incremental, external and view
// plans, which write their target in place.
func (r *run) stagedBuild(n *manifest.Node, plan materialize.Plan) bool {
	if !plan.MainCounts || plan.Incremental || plan.External != nil || plan.Staging == "" ||
		len(n.Config.PreHook) > 0 || len(n.Config.PostHook) > 0 {
		return false
	}
	return len(r.audits[n.ID]) > 0 || plan.Main < len(plan.Build)-1 || r.drifted[n.ID]
}

// buildStaging runs plan's build up to and including its main statement,
// which creates the staging table and returns its row count (MainCounts).
func (r *run) buildStaging(ctx context.Context, tx *warehouse.Tx, plan materialize.Plan) (int64, error) {
	if err := failpoint("node-plan"); err != nil {
		return -1, err
	}
	res, err := tx.Query(ctx, strings.Join(plan.Build[:plan.Main+1], "\n;\n"))
	if err != nil {
		return -1, err
	}
	return countResult(plan.Target, res)
}

// runPlan runs all of plan's statements, and the row count query when the
// target has rows, in one call into DuckDB (which also carries BEGIN): a
// call costs DuckDB a fixed overhead that dominates small nodes. When the
// plan's main statement is its last build statement and returns the row
// count (MainCounts), the build is one call and the publish another, and
// no count query runs: a statement costs DuckDB more than a call. It
// returns the target's row count, or -1 when the plan has none. A batch
// loses the LINE of bind-time errors; execute recovers it with Diagnose.
func (r *run) runPlan(ctx context.Context, tx *warehouse.Tx, plan materialize.Plan) (int64, error) {
	stmts := plan.Statements()
	if len(stmts) == 0 {
		return -1, nil
	}
	// A statement may end in a line comment: keep each ";" on its own line.
	if !plan.HasRows {
		return -1, tx.Exec(ctx, strings.Join(stmts, "\n;\n"))
	}
	if !plan.MainCounts || plan.Main != len(plan.Build)-1 {
		return countAfter(ctx, tx, stmts, plan.Target)
	}
	res, err := tx.Query(ctx, strings.Join(plan.Build, "\n;\n"))
	if err != nil {
		return -1, err
	}
	if len(plan.Publish) > 0 {
		if err := tx.Exec(ctx, strings.Join(plan.Publish, "\n;\n")); err != nil {
			return -1, err
		}
	}
	return countResult(plan.Target, res)
}

// countResult reads the row count of target from res, the result of a
// count query or of a plan's main statement (MainCounts).
func countResult(target string, res *warehouse.Result) (int64, error) {
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return -1, fmt.Errorf("row count of %s: unexpected result %v", target, res.Rows)
	}
	n, ok := res.Rows[0][0].(int64)
	if !ok {
		return -1, fmt.Errorf("row count of %s: unexpected value %T", target, res.Rows[0][0])
	}
	return n, nil
}

// stepPlan marks a failure in the plan's batch.
const stepPlan = "plan"

var lineRE = regexp.MustCompile(`(?m)^LINE (\d+):`)

// errorMessage renders a failed node's message. A DuckDB error in the
// model's own SQL becomes "compiled/path:LINE: DuckDB message", so the user
// can open the compiled file at the line; a hook error names the hook;
// cancellation says the node was rolled back.
func (r *run) errorMessage(ctx context.Context, n *manifest.Node, hook string, err error) string {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "cancelled; rolled back"
	}
	var we *warehouse.Error
	if !errors.As(err, &we) || errors.Is(err, errAudit) {
		return err.Error()
	}
	if hook != "" {
		return fmt.Sprintf("%s of %s failed: %s", hook, n.ID, we.Msg)
	}
	where := n.CompiledPath
	if where == "" {
		where = n.Path
	}
	if where == "" {
		return we.Msg
	}
	if m := lineRE.FindStringSubmatch(we.Msg); m != nil && n.ResourceType == manifest.Model {
		return where + ":" + m[1] + ": " + we.Msg
	}
	return where + ": " + we.Msg
}

// posPrefix renders "file:line: " for a known position, else "".
func posPrefix(p interface{ String() string }) string {
	if s := p.String(); s != "" {
		return s + ": "
	}
	return ""
}

// Package runner executes the selected nodes of a manifest against a
// warehouse: it walks the dependency graph with parallel workers, builds
// each model or seed with the statements materialize plans, inside one
// transaction per node on its own connection together with the node's hooks
// and its elt_state result row, and reports progress as events.
//
// Invariants: a node's data and its state row commit together or not at
// all; a failed node's descendants never run; ephemeral models, sources and
// tests are never executed (ephemerals are inlined by the compiler, sources
// are read by the models that use them).
package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elt-dev/elt/dag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// Options configure one Run.
type Options struct {
	// Threads is the number of nodes built at once (fewer than 1 means 1).
	Threads int
	// FailFast cancels every other node at the first failure.
	FailFast bool
	// FullRefresh is --full-refresh.
	FullRefresh bool
	// InvocationID identifies the run in elt_state and run_results.json.
	InvocationID string
	// Command is the elt verb ("run", "build", "seed") recorded in state.
	Command string
	// Vars and Selector are recorded with the invocation in elt_state.
	Vars     map[string]any
	Selector string
	// ProjectDir resolves source globs; TargetDir is where artifacts go.
	ProjectDir, TargetDir string
	// Now is the time microbatch models fill their intervals up to; zero
	// means the time the node starts. Backfill, when set, makes microbatch
	// models build the intervals of its dates instead.
	Now      time.Time
	Backfill *Backfill
	// CommitIntervalsAfter is how long a microbatch model's consecutive
	// intervals may share a transaction: it commits once their work has
	// taken this long, or at the last one. Zero commits every interval;
	// the CLI uses DefaultCommitIntervalsAfter.
	CommitIntervalsAfter time.Duration
	// OnEvent receives progress events. It is called from worker
	// goroutines, concurrently; the caller serialises printing.
	OnEvent func(Event)
}

// DefaultCommitIntervalsAfter is the CLI's CommitIntervalsAfter: a crash
// loses about a second of a backfill, and a backfill of small intervals
// pays for one COMMIT a second instead of one per interval.
const DefaultCommitIntervalsAfter = time.Second

// EventKind says whether a node starts or ends.
type EventKind int

// The event kinds.
const (
	NodeStart EventKind = iota
	NodeEnd
)

// Event reports a node starting or ending. Index (1-based) numbers nodes in
// the order they start; a node skipped without starting gets an Index after
// every started node and only a NodeEnd. Total counts the nodes the run
// executes (models and seeds; never ephemerals). Result is set on NodeEnd.
type Event struct {
	Kind   EventKind
	Index  int
	Total  int
	Node   *manifest.Node
	Result *NodeResult
}

// Node statuses.
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusSkipped = "skipped"
	StatusWarn    = "warn"
	StatusPass    = "pass"
	StatusFail    = "fail"
)

// NodeResult is the outcome of one node. Rows is the row count of the built
// table or loaded seed, -1 when there is none (views, failures).
type NodeResult struct {
	NodeID       manifest.NodeID
	Status       string
	Message      string
	Rows         int64
	Relation     string
	CompiledPath string
	Started      time.Time
	Completed    time.Time
	Duration     time.Duration
	// Failures is a test's count of failing rows (-1 when it did not run).
	Failures int64
	// RowsRead, RowsWritten, RowsQuarantined and RowsRejected reconcile a
	// built node: rows its query produced, published, sent to quarantine,
	// and malformed source rows rejected; -1 when unknown.
	RowsRead, RowsWritten, RowsQuarantined, RowsRejected int64
	// audit holds the node's audit results until they are reported.
	audit *auditState
}

// RunResult is the outcome of a Run. Nodes are in completion order, nodes
// skipped without starting last (by id).
type RunResult struct {
	InvocationID string
	Command      string
	Nodes        []NodeResult
	// Warnings are problems that failed no node, e.g. a column profile
	// that could not be stored.
	Warnings  []string
	Started   time.Time
	Completed time.Time
}

// Counts returns the number of nodes per status.
func (r *RunResult) Counts() map[string]int {
	c := map[string]int{}
	for _, n := range r.Nodes {
		c[n.Status]++
	}
	return c
}

// Failed reports whether any node ended in error or fail.
func (r *RunResult) Failed() bool {
	c := r.Counts()
	return c[StatusError]+c[StatusFail] > 0
}

// Run builds the runnable nodes of selected (models that are not ephemeral,
// and seeds) in dependency order with opts.Threads workers. Dependencies
// through nodes that are not run (ephemerals, sources, unselected models)
// still order the run. It records the invocation and every successful
// node's result in elt_state. Node failures are reported in the result,
// not as an error; the error is for a run that could not proceed (state
// schema, database) or ctx's error when the run was cancelled, in which
// case the result is still complete.
func Run(ctx context.Context, db *warehouse.DB, m *manifest.Manifest, selected []manifest.NodeID, opts Options) (*RunResult, error) {
	res := &RunResult{InvocationID: opts.InvocationID, Command: opts.Command, Started: time.Now()}
	g, runnable, err := buildGraph(m, selected)
	if err != nil {
		return nil, err
	}
	audits, g := planAudits(m, g, runnable)
	if err := setup(ctx, db, m, runnable, opts, res.Started); err != nil {
		return nil, err
	}
	// Results a killed run committed and left in the journal.
	if c, err := db.Conn(ctx); err == nil {
		if err := fileResults(ctx, c); err != nil {
			res.Warnings = append(res.Warnings, err.Error())
		}
		c.Close()
	}
	existing, err := db.Relations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list relations: %w", err)
	}
	if err := dropLeftStaging(ctx, db, m, existing); err != nil {
		return nil, fmt.Errorf("drop staging tables left by an interrupted run: %w", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{
		db: db, m: m, opts: opts, existing: existing, total: len(runnable),
		cancel: cancel, sources: newSourceChecker(m, opts.ProjectDir),
		audits: audits, drifted: driftWatched(m),
	}
	if anyProfiled(m, runnable, r.drifted) && !anyHooks(m, runnable) {
		r.profiles = newProfiler(ctx, db, opts.InvocationID, len(runnable))
	}
	walk := g.Walk(runCtx, opts.Threads, r.node)
	if r.profiles != nil {
		res.Warnings = append(res.Warnings, r.profiles.Wait()...)
	}

	// Nodes that never started, in id order.
	for _, id := range g.Nodes() {
		w := walk[id]
		if !w.Skipped {
			continue
		}
		n := m.Nodes[manifest.NodeID(id)]
		nr := NodeResult{NodeID: n.ID, Status: StatusSkipped, Rows: -1, Relation: n.Relation,
			CompiledPath: n.CompiledPath, Started: time.Now(), Failures: -1,
			RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
		switch {
		case w.SkippedBy != "":
			nr.Message = "skipped: upstream " + w.SkippedBy + " failed"
		case w.Cancelled && ctx.Err() == nil && r.failFastBy() != "":
			nr.Message = "skipped: cancelled after " + r.failFastBy() + " failed (--fail-fast)"
		case w.Cancelled:
			nr.Message = "skipped: cancelled"
		default:
			nr.Status = StatusError
			nr.Message = fmt.Sprint(w.Err)
		}
		nr.Completed = nr.Started
		r.finish(n, int(r.index.Add(1)), nr)
		for _, t := range r.audits[n.ID] {
			r.finish(t, int(r.index.Add(1)), skippedTest(t, nr.Message))
		}
	}
	res.Nodes = r.results
	if err := verifyPersisted(ctx, db, res); err != nil {
		return res, err
	}
	res.Completed = time.Now()

	status := state.Success
	switch {
	case ctx.Err() != nil:
		status = state.Cancelled
	case res.Failed():
		status = state.Error
	}
	// Record the end even when ctx is cancelled: the invocation happened.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	c, err := db.Conn(fctx)
	if err != nil {
		return res, fmt.Errorf("record end of invocation: %w", err)
	}
	defer c.Close()
	if err := state.FinishInvocation(fctx, c, opts.InvocationID, res.Started, status, res.Completed); err != nil {
		return res, err
	}
	return res, ctx.Err()
}

// fileResults moves the node results in elt_state.node_journal into
// node_results, in a transaction of its own; a failure leaves them in the
// journal, which every reader reads too (all_node_results).
func fileResults(ctx context.Context, c *warehouse.Conn) error {
	if err := c.InTx(ctx, func(tx *warehouse.Tx) error { return tx.Exec(ctx, state.FoldJournalSQL) }); err != nil {
		return fmt.Errorf("node results not filed from elt_state.node_journal yet (the next run files them): %w", err)
	}
	return nil
}

// verifyPersisted reads the run's node results back, files them from the
// journal into node_results, and turns every successful node without its
// row into an error: DuckDB can report success for a COMMIT that kept
// nothing, so outcomes are checked, not trusted.
//
// The results are read from the journal before it is filed: a few rows,
// where node_results holds the whole history (a scan of it cost 130 ms at
// six million results, and grew with every run). Only a successful node
// missing from the journal — one that truly did not persist, or, for a
// program running two runs of this package at once on one database (the
// CLI never does), a result the other run filed meanwhile — costs the
// full read.
func verifyPersisted(ctx context.Context, db *warehouse.DB, res *RunResult) error {
	ctx = context.WithoutCancel(ctx)
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	have := map[string]bool{}
	journaled, jerr := state.JournaledResults(ctx, c, res.InvocationID)
	for _, s := range journaled {
		have[s.NodeID] = true
	}
	if err := fileResults(ctx, c); err != nil {
		// They stay in the journal, where NodeResults reads them too, and
		// the next run files them.
		res.Warnings = append(res.Warnings, err.Error())
	}
	if jerr == nil && !anyUnpersisted(res.Nodes, have) {
		return nil
	}
	stored, err := state.NodeResults(ctx, c, res.InvocationID)
	if err != nil {
		return err
	}
	for _, s := range stored {
		have[s.NodeID] = true
	}
	markUnpersisted(res.Nodes, have)
	return nil
}

// anyUnpersisted reports whether a successful node is not in stored.
func anyUnpersisted(nodes []NodeResult, stored map[string]bool) bool {
	for i := range nodes {
		if nodes[i].Status == StatusSuccess && !stored[string(nodes[i].NodeID)] {
			return true
		}
	}
	return false
}

// markUnpersisted turns each successful node not in stored into an error.
func markUnpersisted(nodes []NodeResult, stored map[string]bool) {
	for i := range nodes {
		if nodes[i].Status == StatusSuccess && !stored[string(nodes[i].NodeID)] {
			nodes[i].Status = StatusError
			nodes[i].Rows = -1
			nodes[i].Message = fmt.Sprintf("%s did not persist: DuckDB accepted COMMIT but kept nothing — run it again", nodes[i].NodeID)
		}
	}
}

// setup migrates elt_state, records the invocation and creates the schemas
// of the runnable nodes, in one transaction before any node runs: parallel
// transactions creating one schema would conflict.
func setup(ctx context.Context, db *warehouse.DB, m *manifest.Manifest, runnable []manifest.NodeID, opts Options, started time.Time) error {
	schemas := map[string]bool{}
	for _, id := range runnable {
		schemas[schemaOf(m.Nodes[id])] = true
	}
	names := make([]string, 0, len(schemas))
	for s := range schemas {
		names = append(names, s)
	}
	sort.Strings(names)
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.InTx(ctx, func(tx *warehouse.Tx) error {
		if err := state.Migrate(ctx, tx); err != nil {
			return err
		}

		for _, s := range names {
			if err := tx.Exec(ctx, materialize.CreateSchema(s)); err != nil {
				return fmt.Errorf("create schema %s: %w", s, err)
			}
		}
		return state.StartInvocation(ctx, tx, state.Invocation{
			RunID: opts.InvocationID, Command: opts.Command, Started: started, Status: state.Running,
			Vars: opts.Vars, Selector: opts.Selector,
		})
	})
}

// run is the shared state of one Run's workers.
type run struct {
	db       *warehouse.DB
	m        *manifest.Manifest
	opts     Options
	existing map[string]warehouse.RelationInfo
	total    int
	index    atomic.Int64
	sources  *sourceChecker
	audits   auditTests
	drifted  map[manifest.NodeID]bool
	// profiles takes the column profiles no drift test reads, after their
	// builds commit; nil takes every profile inside its build, as when a
	// node of the run has hooks (see anyHooks).
	profiles *profiler

	cancel   context.CancelFunc
	mu       sync.Mutex
	results  []NodeResult
	failedBy string // first failure under FailFast
}

func (r *run) failFastBy() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failedBy
}

// node is the dag.Walk callback: it runs one node and returns an error
// when the node failed, so the walk skips its descendants.
func (r *run) node(ctx context.Context, id string) error {
	n := r.m.Nodes[manifest.NodeID(id)]
	idx := int(r.index.Add(1))
	r.emit(Event{Kind: NodeStart, Index: idx, Total: r.total, Node: n})
	nr := r.executeRetrying(ctx, n)
	if nr.Status == StatusError && errors.Is(ctx.Err(), context.Canceled) {
		if by := r.failFastBy(); by != "" {
			nr.Status = StatusSkipped
			nr.Message = "skipped: cancelled after " + by + " failed (--fail-fast); rolled back"
		}
	}
	r.reportAudits(ctx, n, &nr)
	r.finish(n, idx, nr)
	if nr.Status == StatusError {
		if r.opts.FailFast {
			r.mu.Lock()
			if r.failedBy == "" {
				r.failedBy = id
			}
			r.mu.Unlock()
			r.cancel()
		}
		return errors.New(nr.Message)
	}
	if nr.Status == StatusFail && n.TestInfo != nil && n.TestInfo.TestType == "unit" {
		return errors.New(nr.Message) // its model is skipped
	}
	return nil
}

// finish records nr and emits its NodeEnd event.
func (r *run) finish(n *manifest.Node, idx int, nr NodeResult) {
	r.mu.Lock()
	r.results = append(r.results, nr)
	r.mu.Unlock()
	r.emit(Event{Kind: NodeEnd, Index: idx, Total: r.total, Node: n, Result: &nr})
}

func (r *run) emit(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}

// buildGraph returns the graph of the runnable selected nodes. An edge
// a → b means b (transitively) reads a through nodes that are not run
// here, so ordering survives ephemerals and unselected models.
func buildGraph(m *manifest.Manifest, selected []manifest.NodeID) (*dag.Graph, []manifest.NodeID, error) {
	in := map[manifest.NodeID]bool{}
	var runnable []manifest.NodeID
	for _, id := range selected {
		n := m.Nodes[id]
		if n == nil {
			return nil, nil, fmt.Errorf("selected node %s is not in the manifest", id)
		}
		if isRunnable(n) && !in[id] {
			in[id] = true
			runnable = append(runnable, id)
		}
	}
	sort.Slice(runnable, func(i, j int) bool { return runnable[i] < runnable[j] })

	// reach[id] = runnable selected nodes reached from id's dependencies
	// through nodes outside the run.
	reach := map[manifest.NodeID][]manifest.NodeID{}
	var visit func(id manifest.NodeID, onPath map[manifest.NodeID]bool) []manifest.NodeID
	visit = func(id manifest.NodeID, onPath map[manifest.NodeID]bool) []manifest.NodeID {
		if r, ok := reach[id]; ok {
			return r
		}
		if onPath[id] {
			return nil // a cycle among skipped nodes; the compiler reports cycles
		}
		onPath[id] = true
		set := map[manifest.NodeID]bool{}
		if n := m.Nodes[id]; n != nil {
			for _, dep := range n.DependsOn {
				if in[dep] {
					set[dep] = true
					continue
				}
				for _, a := range visit(dep, onPath) {
					set[a] = true
				}
			}
		}
		delete(onPath, id)
		out := make([]manifest.NodeID, 0, len(set))
		for a := range set {
			out = append(out, a)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		reach[id] = out
		return out
	}
	g := dag.New()
	for _, id := range runnable {
		g.AddNode(string(id))
	}
	for _, id := range runnable {
		if t := m.Nodes[id].TestInfo; t != nil && t.TestType == "unit" {
			// A unit test reads fixtures only: it runs before its model,
			// which it gates, rather than after it.
			if in[t.AttachedNode] {
				g.AddEdge(string(id), string(t.AttachedNode))
			}
			continue
		}
		for _, a := range visit(id, map[manifest.NodeID]bool{}) {
			g.AddEdge(string(a), string(id))
		}
	}
	return g, runnable, nil
}

// isRunnable reports whether the runner executes n: seeds and models that
// are not ephemeral.
func isRunnable(n *manifest.Node) bool {
	switch n.ResourceType {
	case manifest.Seed:
		return true
	case manifest.Model:
		return n.Config.Materialized != "ephemeral"
	case manifest.Test:
		return true
	}
	return false
}

// schemaOf is the schema a node builds in.
func schemaOf(n *manifest.Node) string {
	if n.Schema != "" {
		return n.Schema
	}
	if s, _, ok := warehouse.SplitRelation(n.Relation); ok {
		return s
	}
	return "main"
}

// nameOf is the relation name a node builds.
func nameOf(n *manifest.Node) string {
	if n.Alias != "" {
		return n.Alias
	}
	if _, a, ok := warehouse.SplitRelation(n.Relation); ok {
		return a
	}
	return n.Name
}

// dropLeftStaging drops the staging tables (<name>__elt_tmp) of m's
// models and seeds that a run killed between a staged build's two
// transactions left committed but unpublished (see stagedBuild), and
// removes them from existing. A later build of the same model would
// replace its own, but one that no longer builds through a staging table
// (an incremental run, a change of materialization) never would. Only the
// staging names of m's models and seeds are dropped, and never a relation
// some node of m (a model, seed or source) publishes or reads under that
// name.
func dropLeftStaging(ctx context.Context, db *warehouse.DB, m *manifest.Manifest, existing map[string]warehouse.RelationInfo) error {
	owned := map[string]bool{}
	for _, n := range m.Nodes {
		if n.Relation != "" {
			owned[n.Relation] = true
		}
	}
	var drops []string
	for _, n := range m.Nodes {
		if n.ResourceType != manifest.Model && n.ResourceType != manifest.Seed {
			continue
		}
		rel := warehouse.Relation(schemaOf(n), nameOf(n)+materialize.StagingSuffix)
		if info, ok := existing[rel]; ok && info.Kind == warehouse.KindTable && !owned[rel] {
			drops = append(drops, "DROP TABLE IF EXISTS "+rel)
			delete(existing, rel)
		}
	}
	if len(drops) == 0 {
		return nil
	}
	sort.Strings(drops)
	return db.Exec(ctx, strings.Join(drops, ";\n"))
}

// anyProfiled reports whether a node of ids is profiled after its COMMIT:
// one whose config says profile, no drift test watches, and that is not
// built batch by batch.
func anyProfiled(m *manifest.Manifest, ids []manifest.NodeID, drifted map[manifest.NodeID]bool) bool {
	for _, id := range ids {
		if n := m.Nodes[id]; n != nil && n.Config.Profile && !drifted[id] && profileable(n) && !batchedNode(n) {
			return true
		}
	}
	return false
}

// anyHooks reports whether a node of ids has a pre_hook or post_hook. A
// hook may write any table, also one built earlier in the run whose
// profile is still queued: the profile would then describe the hook's
// table, not the build's. Such runs take every profile inside its build.
func anyHooks(m *manifest.Manifest, ids []manifest.NodeID) bool {
	for _, id := range ids {
		if n := m.Nodes[id]; n != nil && (len(n.Config.PreHook) > 0 || len(n.Config.PostHook) > 0) {
			return true
		}
	}
	return false
}

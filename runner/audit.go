package runner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/elt-dev/elt/dag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// Write–audit–publish. A model or seed is built and published inside one
// transaction on its own connection; its audits run inside that same
// transaction, after the publish and before COMMIT, where they see the new
// data and no other connection does. An audit is
//
//   - every selected test of severity error whose only model or seed
//     parent is the node (sources do not count: they are not built),
//   - the quarantine ratio (max_quarantine_ratio) and
//   - the contract (contract: {enforced: true}).
//
// A failed audit rolls the transaction back, so the last published data and
// state stay, and the node fails, so its dependants are skipped. Each test
// audit is also reported as a test result of its own. Tests with several
// parents, warn tests, tests of nodes outside the run and tests of nodes
// built batch by batch run as ordinary graph nodes after their parents.

// auditTests are the tests each node runs as audits, by node id.
type auditTests map[manifest.NodeID][]*manifest.Node

// planAudits picks the audit tests among the runnable nodes and returns
// them by parent, and the graph without them.
func planAudits(m *manifest.Manifest, g *dag.Graph, runnable []manifest.NodeID) (auditTests, *dag.Graph) {
	in := map[manifest.NodeID]bool{}
	for _, id := range runnable {
		in[id] = true
	}
	audits := auditTests{}
	keep := map[string]bool{}
	for _, id := range runnable {
		keep[string(id)] = true
		n := m.Nodes[id]
		if n.ResourceType != manifest.Test || n.Config.Severity == "warn" ||
			(n.TestInfo != nil && n.TestInfo.TestType == "unit") {
			continue
		}
		var parents []manifest.NodeID
		for _, dep := range n.DependsOn {
			if d := m.Nodes[dep]; d != nil && d.ResourceType != manifest.Source {
				parents = append(parents, dep)
			}
		}
		if len(parents) != 1 || !in[parents[0]] || !isRunnable(m.Nodes[parents[0]]) ||
			m.Nodes[parents[0]].ResourceType == manifest.Test || batchedNode(m.Nodes[parents[0]]) {
			continue
		}
		audits[parents[0]] = append(audits[parents[0]], n)
		keep[string(id)] = false
	}
	if len(audits) == 0 {
		return audits, g
	}
	for k, v := range keep {
		if !v {
			delete(keep, k)
		}
	}
	return audits, g.Subgraph(keep)
}

// batchedNode reports nodes built in several transactions (microbatch
// intervals, stream micro-batches): their tests run after them as
// ordinary graph nodes, on the result of every batch.
func batchedNode(n *manifest.Node) bool { return n.IsMicrobatch() || n.IsStream() }

// auditState is what a node's audits produced, reported after the node's
// transaction ends.
type auditState struct {
	results []NodeResult
	spooled map[*manifest.Node]string
	// profileAfterCommit: the node's column profile is left to the
	// profiler, to be taken once its transaction committed.
	profileAfterCommit bool
	// counts is the node's reconciliation, recorded with its node result.
	counts *state.RowCounts
}

// errAudit marks a failed audit.
var errAudit = errors.New("audit failed")

// audit runs n's audits inside tx after its build and publish, and records
// its row counts and column profiles there. The profile of a node a drift
// test watches is stored before the audits run, so that to a drift audit,
// as to any test after COMMIT, the node's newest build in elt_state is the
// one that produced its data. It returns an error wrapping errAudit, with
// the reasons, when an audit fails.
func (r *run) audit(ctx context.Context, tx *warehouse.Tx, n *manifest.Node, target string, nr *NodeResult) error {
	if nr.audit == nil {
		nr.audit = &auditState{}
	}
	var problems []string
	nr.RowsWritten, nr.RowsRead = nr.Rows, nr.Rows
	if srcs := r.rejectSources(n); len(srcs) > 0 {
		rej, err := r.captureRejects(ctx, tx, n, srcs)
		if err != nil {
			return err
		}
		nr.RowsRejected = rej
		if rej > 0 {
			nr.Message = fmt.Sprintf("%d malformed source row%s rejected into %s%s", rej, pluralS(rej), nameOf(n), RejectsSuffix)
		}
	}
	if len(n.Config.Quarantine) > 0 && n.ResourceType == manifest.Model {
		q, err := scalarInt(ctx, tx, "SELECT count(*) FROM "+materialize.QuarantineRelation(schemaOf(n), nameOf(n))+
			" WHERE elt_run_id = "+warehouse.QuoteString(r.opts.InvocationID))
		if err != nil {
			return err
		}
		nr.RowsQuarantined = q
		if q > 0 && n.Config.Materialized == "table" && target != "" {
			if err := tx.Exec(ctx, materialize.QuarantineDelete(target, n.Config.Quarantine)); err != nil {
				return err
			}
			nr.Rows -= q
			nr.RowsWritten = nr.Rows
		}
		if nr.Rows >= 0 {
			nr.RowsRead = nr.Rows + q
		}
		if lim := n.Config.MaxQuarantineRatio; lim != nil && nr.RowsRead > 0 {
			if ratio := float64(q) / float64(nr.RowsRead); ratio > *lim {
				problems = append(problems, fmt.Sprintf("quarantined %d of %d rows (%.2f%%), above max_quarantine_ratio %g",
					q, nr.RowsRead, 100*ratio, *lim))
			}
		}
	}
	if c := n.Config.Contract; c != nil && c.Enforced {
		if msg, err := checkContract(ctx, tx, n); err != nil {
			return err
		} else if msg != "" {
			problems = append(problems, msg)
		}
	}
	if r.drifted[n.ID] && target != "" {
		// Stored before the audits, so a drift audit sees this build as
		// the node's newest, as every later test does (see the drift
		// test); a failed audit rolls the profile back with the data.
		s, err := r.profileSQL(ctx, tx, n, target)
		if err != nil {
			return err
		}
		if s != "" {
			if err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
	}
	var failed []string
	tests := r.audits[n.ID]
	for i, t := range tests {
		tr := NodeResult{NodeID: t.ID, Status: StatusError, Rows: -1, Failures: -1, CompiledPath: t.CompiledPath,
			Started: time.Now(), RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
		f, err := countFailures(ctx, tx, t)
		if err != nil {
			tr = endTest(tr, r.errorMessage(ctx, t, "", err))
			nr.audit.results = append(nr.audit.results, tr)
			// A failed statement aborts the transaction: the rest cannot run.
			for _, rest := range tests[i+1:] {
				nr.audit.results = append(nr.audit.results, skippedTest(rest, "skipped: audit "+t.Name+" of "+string(n.ID)+" failed to run"))
			}
			return fmt.Errorf("%w: test %s failed to run: %s", errAudit, t.Name, tr.Message)
		}
		tr = finishTest(t, tr, f)
		if t.Config.StoreFailures && f > 0 {
			file, err := r.spoolFailures(ctx, tx, t)
			if err != nil {
				return err
			}
			if nr.audit.spooled == nil {
				nr.audit.spooled = map[*manifest.Node]string{}
			}
			nr.audit.spooled[t] = file
		}
		if tr.Status == StatusFail {
			failed = append(failed, fmt.Sprintf("%s (%d failing row%s)", t.Name, f, pluralS(f)))
		}
		nr.audit.results = append(nr.audit.results, tr)
	}
	if len(failed) > 0 {
		problems = append(problems, "failed test"+pluralWord(len(failed))+" "+strings.Join(failed, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s — the last published %s is kept and its dependants are skipped",
			errAudit, strings.Join(problems, "; "), n.Name)
	}
	switch {
	case !r.profiled(n, target) || r.drifted[n.ID]:
		// Not profiled, or profiled above.
	case r.profiles != nil:
		// Nothing reads this profile during the run: take it after COMMIT.
		nr.audit.profileAfterCommit = true
	default:
		// A run with hooks (see anyHooks): take it here, store it with COMMIT.
		s, err := r.profileSQL(ctx, tx, n, target)
		if err != nil {
			return err
		}
		if s != "" {
			tx.Finally(s)
		}
	}
	// A view reads and writes nothing itself: it has no counts to keep.
	if nr.RowsRead >= 0 || nr.RowsWritten >= 0 || nr.RowsQuarantined > 0 || nr.RowsRejected > 0 {
		nr.audit.counts = &state.RowCounts{
			Read: nr.RowsRead, Written: nr.RowsWritten, Quarantined: nr.RowsQuarantined, Rejected: nr.RowsRejected,
		}
	}
	return nil
}

// auditSkipped marks n's audit tests skipped after its build failed
// before they ran.
func (r *run) auditSkipped(n *manifest.Node, nr *NodeResult) {
	if nr.audit == nil {
		nr.audit = &auditState{}
	}
	done := map[manifest.NodeID]bool{}
	for _, a := range nr.audit.results {
		done[a.NodeID] = true
	}
	for _, t := range r.audits[n.ID] {
		if !done[t.ID] {
			nr.audit.results = append(nr.audit.results, skippedTest(t, "skipped: "+string(n.ID)+" failed to build"))
		}
	}
}

func skippedTest(t *manifest.Node, msg string) NodeResult {
	now := time.Now()
	return NodeResult{NodeID: t.ID, Status: StatusSkipped, Rows: -1, Failures: -1, CompiledPath: t.CompiledPath,
		Started: now, Completed: now, Message: msg, RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
}

func pluralWord(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func scalarInt(ctx context.Context, q querier, query string) (int64, error) {
	res, err := q.Query(ctx, query)
	if err != nil {
		return -1, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return -1, fmt.Errorf("unexpected result of %s", query)
	}
	switch v := res.Rows[0][0].(type) {
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	}
	return -1, fmt.Errorf("unexpected value %T of %s", res.Rows[0][0], query)
}

// profileSQL takes the column profiles, distinct counts included, of
// target, n's table as tx sees it, and returns the INSERT storing them as
// this run's ("" when the table has no columns).
func (r *run) profileSQL(ctx context.Context, tx querier, n *manifest.Node, target string) (string, error) {
	at := time.Now()
	profiles, err := profile(ctx, tx, n, target, true)
	if err != nil {
		return "", err
	}
	return state.InsertProfilesSQL(r.opts.InvocationID, string(n.ID), at, profiles), nil
}

// profiled reports whether n's columns are profiled after a build: any
// node a drift test watches, and the tables, seeds, incremental models and
// snapshots whose config says profile (microbatch and stream models are
// profiled by profileBatched instead). A profile scans the whole table
// (on a small table, a scan costs about what the build does), so nothing
// else pays for one: a drift test added later starts from the first build
// after it.
func (r *run) profiled(n *manifest.Node, target string) bool {
	if target == "" {
		return false
	}
	if r.drifted[n.ID] {
		return true
	}
	return n.Config.Profile && profileable(n)
}

// profileable reports whether n builds a table a profile can describe.
// (Microbatch and stream models are profiled in their last batch's
// transaction instead: see profileBatched.)
func profileable(n *manifest.Node) bool {
	if n.ResourceType == manifest.Seed {
		return true
	}
	switch n.Config.Materialized {
	case "table", "incremental", "snapshot":
		return true
	}
	return false
}

// driftWatched returns the nodes some drift test of m is attached to.
func driftWatched(m *manifest.Manifest) map[manifest.NodeID]bool {
	out := map[manifest.NodeID]bool{}
	for _, n := range m.Nodes {
		if n.TestInfo != nil && n.TestInfo.TestName == "drift" {
			out[n.TestInfo.AttachedNode] = true
		}
	}
	return out
}

// columnsSQL is a query for the columns (name, type) of the database's
// relation schema.name, in order. pragma_table_info looks the one
// relation up; a scan of the catalog costs ~10 ms at 1,000 tables. But
// DuckDB 1.5 reads a doubled quote in pragma_table_info's name as nothing
// ("a""b" is ab): names holding a quote scan duckdb_columns(), which
// returns no row, not an error, for a missing relation.
func columnsSQL(schema, name string) string {
	if strings.Contains(schema+name, `"`) {
		return "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = " +
			warehouse.QuoteString(schema) + " AND table_name = " + warehouse.QuoteString(name) + " ORDER BY column_index"
	}
	return "SELECT name, type FROM pragma_table_info(" + warehouse.QuoteString(warehouse.Relation(schema, name)) + ") ORDER BY cid"
}

// columnsOf returns the columns and types of relation schema.name as the
// transaction sees them, in order.
func columnsOf(ctx context.Context, q querier, schema, name string) ([][2]string, error) {
	res, err := q.Query(ctx, columnsSQL(schema, name))
	if err != nil {
		return nil, err
	}
	out := make([][2]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		out = append(out, [2]string{fmt.Sprint(row[0]), fmt.Sprint(row[1])})
	}
	return out, nil
}

// numericType reports whether a DuckDB type has a mean.
func numericType(t string) bool {
	t = strings.ToUpper(t)
	if strings.Contains(t, "[") {
		return false // a list or array (BIGINT[], DECIMAL(10,2)[3]), not a number
	}
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
		"UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// profile computes the column profiles of target in one scan: row count,
// null rate, mean (numeric columns), min, max and, with distinct, an
// approximate distinct count (HyperLogLog). The distinct count is most of
// a profile's cost on a large table (0.35 of 0.4 s on 2.85M rows and 8
// columns; DuckDB answers the rest largely from its column statistics), so
// only the profiles a drift test may read take it.
func profile(ctx context.Context, tx querier, n *manifest.Node, target string, distinct bool) ([]state.ColumnProfile, error) {
	cols, err := columnsOf(ctx, tx, schemaOf(n), nameOf(n))
	if err != nil || len(cols) == 0 {
		return nil, err
	}
	exprs := []string{"count(*)"}
	for _, c := range cols {
		q := warehouse.QuoteIdent(c[0])
		mean := "NULL"
		if numericType(c[1]) {
			mean = "avg(CAST(" + q + " AS DOUBLE))"
		}
		simple := !strings.Contains(c[1], "[") && !strings.HasPrefix(c[1], "STRUCT") && !strings.HasPrefix(c[1], "MAP")
		lo, hi := "NULL", "NULL"
		if simple {
			lo, hi = "CAST(min("+q+") AS VARCHAR)", "CAST(max("+q+") AS VARCHAR)"
		}
		dc := "NULL"
		if distinct {
			dc = "approx_count_distinct(" + q + ")"
		}
		exprs = append(exprs, "count("+q+")", mean, lo, hi, dc)
	}
	res, err := tx.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+target)
	if err != nil {
		return nil, err
	}
	if len(res.Rows) != 1 {
		return nil, fmt.Errorf("profile of %s: unexpected result", n.ID)
	}
	row := res.Rows[0]
	total := toInt(row[0])
	out := make([]state.ColumnProfile, len(cols))
	for i, c := range cols {
		v := row[1+5*i : 6+5*i]
		p := state.ColumnProfile{Column: c[0], DataType: c[1], RowCount: total}
		if total > 0 {
			rate := 1 - float64(toInt(v[0]))/float64(total)
			p.NullRate = &rate
		}
		if f, ok := v[1].(float64); ok {
			p.Mean = &f
		}
		if s, ok := v[2].(string); ok {
			p.Min = &s
		}
		if s, ok := v[3].(string); ok {
			p.Max = &s
		}
		if v[4] != nil {
			d := toInt(v[4])
			p.DistinctCount = &d
		}
		out[i] = p
	}
	return out, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// typeAliases maps type names a user may write to DuckDB's.
var typeAliases = map[string]string{
	"INT": "INTEGER", "INT4": "INTEGER", "SIGNED": "INTEGER", "INT8": "BIGINT", "LONG": "BIGINT",
	"INT2": "SMALLINT", "SHORT": "SMALLINT", "INT1": "TINYINT", "STRING": "VARCHAR", "TEXT": "VARCHAR",
	"CHAR": "VARCHAR", "BPCHAR": "VARCHAR", "FLOAT8": "DOUBLE", "NUMERIC": "DECIMAL", "FLOAT4": "FLOAT",
	"REAL": "FLOAT", "BOOL": "BOOLEAN", "LOGICAL": "BOOLEAN", "DATETIME": "TIMESTAMP",
	"TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
	"BYTEA": "BLOB", "BINARY": "BLOB", "VARBINARY": "BLOB",
}

// normType canonicalises a type name for comparison: upper case, aliases
// resolved, blanks squeezed; NUMERIC(p,s) as DECIMAL(p,s).
func normType(t string) string {
	t = strings.ToUpper(strings.Join(strings.Fields(t), " "))
	t = strings.ReplaceAll(t, ", ", ",")
	base, rest := t, ""
	if i := strings.IndexByte(t, '('); i > 0 {
		base, rest = strings.TrimSpace(t[:i]), t[i:]
	}
	if a, ok := typeAliases[base]; ok {
		base = a
	}
	if base == "VARCHAR" {
		rest = "" // VARCHAR(n) is VARCHAR in DuckDB
	}
	if base == "DECIMAL" && rest == "" {
		rest = "(18,3)"
	}
	return base + rest
}

// checkContract compares n's built relation with the columns and
// data_types of its YAML, and returns a message listing every mismatch
// ("" when they match).
func checkContract(ctx context.Context, q querier, n *manifest.Node) (string, error) {
	cols, err := columnsOf(ctx, q, schemaOf(n), nameOf(n))
	if err != nil {
		return "", err
	}
	built := map[string]string{}
	for _, c := range cols {
		built[c[0]] = c[1]
	}
	declared := map[string]bool{}
	var bad []string
	for _, c := range n.Columns {
		declared[c.Name] = true
		got, ok := built[c.Name]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("column %s (%s) is missing from the built relation", c.Name, c.Pos))
		case c.DataType == "":
			bad = append(bad, fmt.Sprintf("column %s (%s) has no data_type — an enforced contract needs one for every column", c.Name, c.Pos))
		case normType(c.DataType) != normType(got):
			bad = append(bad, fmt.Sprintf("column %s is %s, the contract says %s (%s)", c.Name, got, c.DataType, c.Pos))
		}
	}
	var extra []string
	for _, c := range cols {
		if !declared[c[0]] {
			extra = append(extra, c[0]+" "+c[1])
		}
	}
	sort.Strings(extra)
	for _, e := range extra {
		bad = append(bad, "column "+e+" is not in the contract (add it to the YAML or drop it from the model)")
	}
	if len(bad) == 0 {
		return "", nil
	}
	return "contract violated: " + strings.Join(bad, "; "), nil
}

// reportAudits stores the failing rows n's audits spooled and reports each
// audit test as a result of its own, after n's transaction has ended and
// before n's own result. Audits that never ran are reported skipped.
func (r *run) reportAudits(ctx context.Context, n *manifest.Node, nr *NodeResult) {
	if len(r.audits[n.ID]) == 0 {
		return
	}
	r.auditSkipped(n, nr)
	if err := r.loadSpooled(ctx, nr.audit.spooled); err != nil && nr.Status != StatusError {
		nr.Message = strings.TrimSpace(nr.Message + " " + err.Error())
	}
	tests := map[manifest.NodeID]*manifest.Node{}
	for _, t := range r.audits[n.ID] {
		tests[t.ID] = t
	}
	for _, tr := range nr.audit.results {
		t := tests[tr.NodeID]
		idx := int(r.index.Add(1))
		r.emit(Event{Kind: NodeStart, Index: idx, Total: r.total, Node: t})
		if nr.Status != StatusSuccess && tr.Status != StatusFail && tr.Status != StatusError {
			// The transaction rolled back: what passed was not published.
			tr.Message = strings.TrimSpace(tr.Message + " (rolled back with " + string(n.ID) + ")")
		}
		r.finish(t, idx, tr)
	}
}

package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// FailuresSchema is the schema of stored test failures (store_failures):
// one table per test, named after it, keeping every run's failing rows
// with elt_run_id and elt_stored_at.
const FailuresSchema = "elt_failures"

// querier is what running a test needs of a connection or transaction.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*warehouse.Result, error)
	Exec(ctx context.Context, query string, args ...any) error
}

// testSQL returns a test's query without trailing blanks and semicolons.
func testSQL(n *manifest.Node) string { return strings.TrimRight(n.CompiledSQL, " \t\r\n;") }

// countFailures returns the number of rows n's query returns.
func countFailures(ctx context.Context, q querier, n *manifest.Node) (int64, error) {
	res, err := q.Query(ctx, "SELECT count(*) FROM (\n"+testSQL(n)+"\n) AS elt_test")
	if err != nil {
		return -1, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return -1, fmt.Errorf("failure count of %s: unexpected result", n.ID)
	}
	v, ok := res.Rows[0][0].(int64)
	if !ok {
		return -1, fmt.Errorf("failure count of %s: unexpected value %T", n.ID, res.Rows[0][0])
	}
	return v, nil
}

// failuresTable is the quoted table storing n's failing rows.
func failuresTable(n *manifest.Node) string { return warehouse.Relation(FailuresSchema, n.Name) }

// storeFailuresSQL returns the statements that append the rows of from (a
// subquery or reader) to n's failures table, creating it when missing.
func storeFailuresSQL(n *manifest.Node, from, runID string) string {
	t := failuresTable(n)
	return "CREATE TABLE IF NOT EXISTS " + t + " AS SELECT *, CAST(NULL AS VARCHAR) AS elt_run_id, " +
		"CAST(NULL AS TIMESTAMP) AS elt_stored_at FROM " + from + " LIMIT 0\n;\n" +
		"INSERT INTO " + t + " BY NAME SELECT *, " + warehouse.QuoteString(runID) + " AS elt_run_id, " +
		"CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_stored_at FROM " + from
}

// runTest runs one test node on its own connection: a unit test in an
// isolated database, any other test by counting the rows its query
// returns (and, with store_failures, appending them to its failures table
// in the same transaction). The status follows severity, warn_if and
// error_if; a failing query is an error.
func (r *run) runTest(ctx context.Context, n *manifest.Node) NodeResult {
	if n.TestInfo != nil && n.TestInfo.TestType == "unit" {
		return r.runUnitTest(ctx, n)
	}
	nr := NodeResult{NodeID: n.ID, Status: StatusError, Rows: -1, Failures: -1, CompiledPath: n.CompiledPath,
		Started: time.Now(), RowsRead: -1, RowsWritten: -1, RowsQuarantined: -1, RowsRejected: -1}
	c, err := r.db.Conn(ctx)
	if err != nil {
		return endTest(nr, r.errorMessage(ctx, n, "", err))
	}
	defer c.Close()
	var failures int64
	err = c.InTx(ctx, func(tx *warehouse.Tx) error {
		if n.Config.StoreFailures {
			from := "(\n" + testSQL(n) + "\n) AS elt_test"
			if err := tx.Exec(ctx, storeFailuresSQL(n, from, r.opts.InvocationID)); err != nil {
				return err
			}
			res, err := tx.Query(ctx, "SELECT count(*) FROM "+failuresTable(n)+" WHERE elt_run_id = "+warehouse.QuoteString(r.opts.InvocationID))
			if err != nil {
				return err
			}
			failures, _ = res.Rows[0][0].(int64)
		} else {
			f, err := countFailures(ctx, tx, n)
			if err != nil {
				return err
			}
			failures = f
		}
		status, err := manifest.TestStatus(n.Config, failures)
		if err != nil {
			return err
		}
		tx.Finally(state.InsertNodeResultSQL(state.NodeResult{
			RunID: r.opts.InvocationID, NodeID: string(n.ID), Status: status, Rows: failures,
			Started: nr.Started, Completed: time.Now(), Fingerprint: n.Fingerprint,
		}))
		return nil
	})
	if err != nil {
		return endTest(nr, r.errorMessage(ctx, n, "", err))
	}
	return finishTest(n, nr, failures)
}

// finishTest sets the status and message of a test that found failures.
func finishTest(n *manifest.Node, nr NodeResult, failures int64) NodeResult {
	nr.Failures = failures
	status, err := manifest.TestStatus(n.Config, failures)
	if err != nil {
		return endTest(nr, posPrefix(n.Pos)+err.Error())
	}
	nr.Status = status
	msg := ""
	if failures != 0 || status != StatusPass {
		msg = fmt.Sprintf("Got %d result%s, configured to %s if %s", failures, pluralS(failures), verbOf(status), conditionOf(n.Config, status))
		if n.Config.StoreFailures && failures > 0 {
			msg += fmt.Sprintf("; failing rows in %s.%s", FailuresSchema, n.Name)
		}
	}
	return endTest(nr, msg)
}

func verbOf(status string) string {
	if status == StatusWarn {
		return "warn"
	}
	return "fail"
}

func conditionOf(cfg manifest.Config, status string) string {
	c := cfg.ErrorIf
	if status == StatusWarn {
		c = cfg.WarnIf
	}
	if c == "" {
		c = "!=0"
	}
	return c
}

func pluralS(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func endTest(nr NodeResult, msg string) NodeResult {
	nr.Completed = time.Now()
	nr.Duration = nr.Completed.Sub(nr.Started)
	nr.Message = msg
	return nr
}

// spoolFailures copies the failing rows of an audit to a Parquet file
// outside the database: the audit's transaction may roll back, and the
// rows must survive it. It returns the file, "" when nothing was written.
func (r *run) spoolFailures(ctx context.Context, tx *warehouse.Tx, n *manifest.Node) (string, error) {
	dir := r.opts.TargetDir
	if dir == "" {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "elt_failures_spool")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f := filepath.Join(dir, r.opts.InvocationID+"_"+n.Name+".parquet")
	err := tx.Exec(ctx, "COPY (\n"+testSQL(n)+"\n) TO "+warehouse.QuoteString(f)+" (FORMAT parquet)")
	if err != nil {
		return "", err
	}
	return f, nil
}

// loadSpooled appends each spooled file to its test's failures table and
// removes it.
func (r *run) loadSpooled(ctx context.Context, spooled map[*manifest.Node]string) error {
	if len(spooled) == 0 {
		return nil
	}
	c, err := r.db.Conn(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer c.Close()
	var first error
	for n, f := range spooled {
		err := c.InTx(ctx, func(tx *warehouse.Tx) error {
			return tx.Exec(ctx, storeFailuresSQL(n, "read_parquet("+warehouse.QuoteString(f)+")", r.opts.InvocationID))
		})
		if err != nil && first == nil {
			first = fmt.Errorf("store failures of %s: %w", n.ID, err)
		}
		os.Remove(f)
	}
	return first
}

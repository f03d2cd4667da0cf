package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
)

// Conn is one connection taken from the database's pool. It is used by one
// goroutine at a time and must be closed, which returns it to the pool — or
// discards it when it may hold a transaction DuckDB left open.
type Conn struct {
	c *sql.Conn
	// bad marks a connection that must not go back to the pool.
	bad bool
}

// Conn takes a connection from the pool.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	return &Conn{c: c}, nil
}

// Close returns the connection to the pool, or discards it when a failure
// may have left it inside a transaction.
func (c *Conn) Close() error {
	if c.bad {
		// Returning ErrBadConn from Raw makes database/sql drop the
		// connection instead of pooling it.
		_ = c.c.Raw(func(any) error { return driver.ErrBadConn })
	}
	return c.c.Close()
}

// Exec runs one or more statements in autocommit mode. On failure the
// connection is discarded at Close: a failed multi-statement Exec may leave
// DuckDB inside a transaction.
func (c *Conn) Exec(ctx context.Context, query string, args ...any) error {
	if _, err := c.c.ExecContext(ctx, query, args...); err != nil {
		c.bad = true
		return ctxError(ctx, err)
	}
	return nil
}

// Query runs query and returns every row.
func (c *Conn) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	rows, err := c.c.QueryContext(ctx, query, args...)
	if err != nil {
		c.bad = true
		return nil, ctxError(ctx, err)
	}
	return collect(ctx, rows)
}

// InTx runs fn inside one explicit transaction on this connection. When fn
// returns an error, or ctx is cancelled, the transaction is rolled back and
// never committed: DuckDB's COMMIT after an execution error silently drops
// the work, and after a binder error keeps what ran before it, so an error
// must never reach COMMIT. A failed ROLLBACK or COMMIT discards the
// connection. The returned error is fn's (or COMMIT's), wrapped as by Exec.
//
// The statements registered with Tx.Finally run just before COMMIT in the
// same call into DuckDB, and they and COMMIT run even if ctx is cancelled
// meanwhile: once fn has succeeded, the commit is not interrupted halfway.
// Since a statement of an aborted transaction fails, a Finally statement
// that succeeds proves the transaction alive at COMMIT: DuckDB cannot then
// silently discard the work.
//
// The transaction is controlled with plain BEGIN/COMMIT/ROLLBACK statements
// rather than database/sql's Tx, so that they share calls into DuckDB with
// the work: BEGIN travels with fn's first statement, and the Finally
// statements with COMMIT. Each call costs DuckDB a fixed overhead, and a
// node's transaction is on elt's critical path.
func (c *Conn) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx := &Tx{c: c.c, pending: true}
	err := fn(tx)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		c.rollback(ctx, tx)
		return ctxError(ctx, err)
	}
	var batch []string
	if tx.pending && len(tx.finally) > 0 {
		batch = append(batch, "BEGIN TRANSACTION")
	}
	batch = append(batch, tx.finally...)
	if len(batch) > 0 || !tx.pending {
		batch = append(batch, "COMMIT")
	}
	if len(batch) == 0 {
		return nil
	}
	cctx := context.WithoutCancel(ctx)
	if _, err := c.c.ExecContext(cctx, strings.Join(batch, "\n;\n")); err != nil {
		// COMMIT may not have run (a Finally statement failed): end the
		// transaction either way, and drop the connection.
		c.rollback(cctx, &Tx{})
		c.bad = true
		return wrapError(err)
	}
	return nil
}

// rollback ends tx's transaction, if one was begun, with ROLLBACK; when
// that fails the connection is discarded at Close.
func (c *Conn) rollback(ctx context.Context, tx *Tx) {
	if tx.pending {
		return
	}
	if _, err := c.c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		c.bad = true
	}
}

// Tx is an open transaction of one Conn. Its methods wrap DuckDB errors
// like Conn's. It is valid only inside the InTx callback, and must not run
// COMMIT or ROLLBACK itself. BEGIN is sent with the first statement.
type Tx struct {
	c *sql.Conn
	// pending: BEGIN has not been sent yet.
	pending bool
	finally []string
}

// begin returns query preceded by BEGIN when the transaction has not begun
// yet, and marks it begun: from here on, errors lead to ROLLBACK.
func (t *Tx) begin(query string) string {
	if !t.pending {
		return query
	}
	t.pending = false
	return "BEGIN TRANSACTION;\n" + query
}

// Exec runs one or more statements inside the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) error {
	if _, err := t.c.ExecContext(ctx, t.begin(query), args...); err != nil {
		return ctxError(ctx, err)
	}
	return nil
}

// ExecAlone runs one statement inside the transaction in a call of its
// own. DuckDB reports the LINE of an error only for a statement sent
// alone, so statements holding a user's SQL go through ExecAlone.
func (t *Tx) ExecAlone(ctx context.Context, query string) error {
	if t.pending {
		t.pending = false
		if _, err := t.c.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return ctxError(ctx, err)
		}
	}
	return t.Exec(ctx, query)
}

// Finally registers statements to run after fn returns successfully, just
// before COMMIT and in the same call.
func (t *Tx) Finally(stmts ...string) {
	t.finally = append(t.finally, stmts...)
}

// Query runs query (one or more statements; the last one's rows are
// returned) inside the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	rows, err := t.c.QueryContext(ctx, t.begin(query), args...)
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	return collect(ctx, rows)
}

// ExecContext is database/sql's ExecContext with DuckDB errors wrapped, so
// a Tx serves packages written against database/sql interfaces.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := t.c.ExecContext(ctx, t.begin(query), args...)
	return r, ctxError(ctx, err)
}

// QueryRowContext is database/sql's QueryRowContext.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.c.QueryRowContext(ctx, t.begin(query), args...)
}

// QueryContext is database/sql's QueryContext inside the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, err := t.c.QueryContext(ctx, t.begin(query), args...)
	return r, ctxError(ctx, err)
}

// RowCount returns count(*) of relation (a quoted "schema"."name").
func (t *Tx) RowCount(ctx context.Context, relation string) (int64, error) {
	var n int64
	if err := t.QueryRowContext(ctx, "SELECT count(*) FROM "+relation).Scan(&n); err != nil {
		return 0, ctxError(ctx, err)
	}
	return n, nil
}

// ExecContext is database/sql's ExecContext in autocommit mode, with DuckDB
// errors wrapped.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := c.c.ExecContext(ctx, query, args...)
	if err != nil {
		c.bad = true
	}
	return r, ctxError(ctx, err)
}

// QueryRowContext is database/sql's QueryRowContext.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.c.QueryRowContext(ctx, query, args...)
}

// QueryContext is database/sql's QueryContext in autocommit mode.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, err := c.c.QueryContext(ctx, query, args...)
	if err != nil {
		c.bad = true
	}
	return r, ctxError(ctx, err)
}

// Diagnose runs setup and then stmt alone inside a transaction that is
// always rolled back, and returns stmt's error (nil when it succeeds or
// setup fails). DuckDB drops the LINE position of a bind-time error for a
// statement sent with others; after such a batch failed and was rolled
// back, Diagnose recovers the positioned message. Use it only for errors
// raised before execution (parser, binder, catalog), which cost no work to
// reproduce.
func (c *Conn) Diagnose(ctx context.Context, setup []string, stmt string) error {
	var stmtErr error
	_ = c.InTx(ctx, func(tx *Tx) error {
		if len(setup) > 0 {
			if err := tx.Exec(ctx, strings.Join(setup, "\n;\n")); err != nil {
				return err
			}
		}
		stmtErr = tx.ExecAlone(ctx, stmt)
		if stmtErr == nil {
			// Roll back the successful statement too.
			return errDiagnosed
		}
		return stmtErr
	})
	return stmtErr
}

var errDiagnosed = errors.New("diagnosis done")

// BeforeExecution reports whether err is a DuckDB error raised before a
// statement executes (parser, binder or catalog), so re-running the
// statement costs no work.
func BeforeExecution(err error) bool {
	var we *Error
	if !errors.As(err, &we) {
		return false
	}
	switch we.Kind {
	case "Parser Error", "Binder Error", "Catalog Error":
		return true
	}
	return false
}

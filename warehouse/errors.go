package warehouse

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Error is a failed DuckDB statement. Msg is DuckDB's own message without
// driver prefixes, e.g. `Catalog Error: Table with name x does not exist!`
// followed by DuckDB's LINE pointer when it gives one.
type Error struct {
	// Kind is DuckDB's error class, e.g. "Binder Error"; empty when unknown.
	Kind string
	// Msg is the message as DuckDB wrote it, trimmed.
	Msg string
	err error
}

// Error returns DuckDB's message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the driver's error.
func (e *Error) Unwrap() error { return e.err }

// Interrupted reports whether the statement was interrupted (cancelled).
func (e *Error) Interrupted() bool { return e.Kind == "INTERRUPT Error" }

var kindRE = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*Error): `)

// wrapError turns a driver error into an *Error; context errors, *Error
// and *LockError pass through unchanged, and nil stays nil.
func wrapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	var le *LockError
	if errors.As(err, &le) {
		return err
	}
	msg := err.Error()
	var de *duckdb.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	msg = strings.TrimSpace(msg)
	e := &Error{Msg: msg, err: err}
	if m := kindRE.FindStringSubmatch(msg); m != nil {
		e.Kind = m[1]
	}
	return e
}

// ctxError returns ctx's error when ctx is done (a cancelled statement
// reports DuckDB's "Interrupted!", which is less clear), else wrapError(err).
func ctxError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return wrapError(err)
}

// LockError says another process holds the database file.
type LockError struct {
	// Path is the database path as given to Open.
	Path string
	// PID is the lock holder's process id; 0 when DuckDB did not name it.
	PID int
	// Msg is DuckDB's message.
	Msg string
}

// Error renders one sentence naming the file, the holder and the fix.
func (e *LockError) Error() string {
	holder := "another elt process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another elt process (PID %d)", e.PID)
	}
	return fmt.Sprintf("database %s is in use by %s — wait for it to finish or use another --target",
		filepath.ToSlash(e.Path), holder)
}

var (
	lockRE = regexp.MustCompile(`Could not set lock on file`)
	pidRE  = regexp.MustCompile(`\(PID (\d+)\)`)
)

// parseLockError returns a *LockError when err is DuckDB's lock conflict
// (`Could not set lock on file … Conflicting lock is held in … (PID n)`),
// else nil.
func parseLockError(path string, err error) *LockError {
	msg := err.Error()
	if !lockRE.MatchString(msg) {
		return nil
	}
	le := &LockError{Path: path, Msg: msg}
	if m := pidRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &le.PID)
	}
	return le
}

package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// DefaultRetryDelay is the wait before a node's first retry when its
// retry_delay is not set; each further retry waits twice as long.
const DefaultRetryDelay = time.Second

// maxRetryDelay caps the exponential backoff.
const maxRetryDelay = time.Minute

// executeRetrying is execute with the node's retries: a node failing with
// a transient error (see Transient) runs again up to config retries times,
// waiting retry_delay, then twice that, and so on (capped at a minute).
// Every attempt is its own transaction (or pair of them, see
// stagedBuild), so a failed attempt publishes nothing; at most an
// unpublished staging table, which the next attempt replaces. Errors in the model itself (parser, binder, catalog,
// conversion, constraint) are never retried.
func (r *run) executeRetrying(ctx context.Context, n *manifest.Node) NodeResult {
	delay := DefaultRetryDelay
	if d, err := time.ParseDuration(n.Config.RetryDelay); err == nil && d >= 0 {
		delay = d
	}
	for attempt := 0; ; attempt++ {
		nr := r.execute(ctx, n)
		if nr.Status != StatusError || attempt >= n.Config.Retries || !Transient(nr.Message) || ctx.Err() != nil {
			if attempt > 0 && nr.Status == StatusError {
				nr.Message += fmt.Sprintf(" (after %d retries)", attempt)
			}
			return nr
		}
		wait := delay << attempt
		if wait > maxRetryDelay || wait < 0 {
			wait = maxRetryDelay
		}
		select {
		case <-ctx.Done():
			return nr
		case <-time.After(wait):
		}
	}
}

// permanentKinds are DuckDB error classes that running again cannot fix.
var permanentKinds = []string{"Parser Error", "Binder Error", "Catalog Error", "Conversion Error",
	"Constraint Error", "Invalid Input Error", "Syntax Error", "Not implemented Error", "Out of Range Error"}

// transientMarks are what DuckDB's transient failures say: I/O errors,
// lock conflicts, and transaction conflicts.
var transientMarks = []string{"IO Error", "HTTP Error", "Could not set lock", "TransactionContext Error",
	"Transaction Error", "Conflict", "conflict", "database is locked"}

// Transient reports whether a node's error message is a transient failure
// worth retrying: a DuckDB I/O, lock or transaction-conflict error, and
// never an error of the model's SQL (parser, binder, catalog, conversion,
// constraint).
func Transient(msg string) bool {
	for _, k := range permanentKinds {
		if strings.Contains(msg, k+":") {
			return false
		}
	}
	for _, k := range transientMarks {
		if strings.Contains(msg, k) {
			return true
		}
	}
	return false
}

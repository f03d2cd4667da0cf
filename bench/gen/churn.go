package gen

import "fmt"

// churnRowsPer500Users is how many raw rows (purchases and logins,
// re-ingests included) the example project's generate_sample_data macro
// writes for its default 500 users over 90 days: 2,612 + 8,924.
const churnRowsPer500Users = 11536

// ChurnUsers returns the n_users argument of the example churn project's
// generate_sample_data macro that makes its two raw feeds hold about rows
// rows together (within a few percent: the macro draws activity per user).
// The feeds keep the example's own layout: CSV partitioned by ingest day,
// late rows and re-ingested duplicates.
func ChurnUsers(rows int) int {
	return max(1, int(int64(rows)*500/churnRowsPer500Users))
}

// ChurnFeedsArgs returns the --args of `elt run-operation
// generate_sample_data` in a copy of the example project (`elt init`) that
// writes about rows raw rows.
func ChurnFeedsArgs(rows int) string {
	return fmt.Sprintf("{n_users: %d}", ChurnUsers(rows))
}

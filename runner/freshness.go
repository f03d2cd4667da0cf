package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// FreshnessResult is the freshness of one source table: the newest
// loaded_at_field value, its age at check time, and the status against
// warn_after/error_after ("pass", "warn", "error"; "error" also when the
// query failed, with Message saying why).
type FreshnessResult struct {
	NodeID      manifest.NodeID
	MaxLoadedAt time.Time
	Age         time.Duration
	Status      string
	Message     string
	Duration    time.Duration
}

// periodDuration converts a freshness period.
func periodDuration(p *manifest.Period) time.Duration {
	if p == nil {
		return 0
	}
	unit := time.Hour * 24
	switch p.Period {
	case "minute":
		unit = time.Minute
	case "hour":
		unit = time.Hour
	}
	return time.Duration(p.Count) * unit
}

// HasFreshness reports whether a source node declares what freshness needs.
func HasFreshness(n *manifest.Node) bool {
	return n.Source != nil && n.Source.LoadedAtField != "" && n.Source.Freshness != nil &&
		(n.Source.Freshness.WarnAfter != nil || n.Source.Freshness.ErrorAfter != nil)
}

// CheckFreshness checks one source against now: the newest value of its
// loaded_at_field (a naive timestamp is taken as UTC) must be younger than
// error_after (else "error") and warn_after (else "warn").
func CheckFreshness(ctx context.Context, db *warehouse.DB, n *manifest.Node, now time.Time) FreshnessResult {
	start := time.Now()
	res := FreshnessResult{NodeID: n.ID, Status: StatusError}
	defer func() { res.Duration = time.Since(start) }()
	q := "SELECT CAST(max(" + n.Source.LoadedAtField + ") AS TIMESTAMP) FROM " + n.Relation
	r, err := db.Query(ctx, q)
	if err != nil {
		res.Message = fmt.Sprintf("%s: %v", n.Pos, err)
		return res
	}
	t, ok := r.Rows[0][0].(time.Time)
	if !ok {
		res.Message = fmt.Sprintf("%s has no rows with %s — it is never fresh", n.ID, n.Source.LoadedAtField)
		return res
	}
	res.MaxLoadedAt = t.UTC()
	res.Age = now.Sub(res.MaxLoadedAt)
	f := n.Source.Freshness
	switch {
	case f.ErrorAfter != nil && res.Age > periodDuration(f.ErrorAfter):
		res.Message = fmt.Sprintf("newest %s is %s old, more than error_after %s", n.Source.LoadedAtField, roundAge(res.Age), periodText(f.ErrorAfter))
	case f.WarnAfter != nil && res.Age > periodDuration(f.WarnAfter):
		res.Status = StatusWarn
		res.Message = fmt.Sprintf("newest %s is %s old, more than warn_after %s", n.Source.LoadedAtField, roundAge(res.Age), periodText(f.WarnAfter))
	default:
		res.Status = StatusPass
	}
	return res
}

func periodText(p *manifest.Period) string {
	if p.Count == 1 {
		return "1 " + p.Period
	}
	return fmt.Sprintf("%d %ss", p.Count, p.Period)
}

func roundAge(d time.Duration) string {
	if d > 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

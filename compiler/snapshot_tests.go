package compiler

import (
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// The kinds of the invariant tests every snapshot gets.
const (
	SnapshotOneCurrentRow     = "snapshot_one_current_row"
	SnapshotValidRanges       = "snapshot_valid_ranges"
	SnapshotNoOverlap         = "snapshot_no_overlap"
	SnapshotDeletedNotCurrent = "snapshot_deleted_not_current"
)

// snapshotTests checks the configuration of every enabled snapshot model
// and of every CDC merge model (delete_condition), reporting mistakes at
// the model's file, and attaches a snapshot's invariant tests as generic
// test nodes, each passing when its query returns no row:
//   - snapshot_one_current_row: at most one row per key has elt_valid_to NULL;
//   - snapshot_valid_ranges: every closed row has elt_valid_from < elt_valid_to;
//   - snapshot_no_overlap: the validity ranges of a key never overlap;
//   - snapshot_deleted_not_current (hard_deletes invalidate or new_record):
//     no key missing from the snapshot's SELECT has a current row (other
//     than its deletion row), i.e. every deletion was recorded.
//
// Keys compare NULL-safely, as the snapshot matches them. Call it after
// the models' final render (the last test embeds the snapshot's SELECT)
// and before expandTests.
func (c *compilation) snapshotTests() {
	for _, u := range c.modelList {
		n := u.node
		if !n.Config.Enabled || u.failed {
			continue
		}
		if n.Config.DeleteCondition != "" {
			c.checkCDC(u)
		}
		if n.Config.Materialized != "snapshot" {
			continue
		}
		if !c.checkSnapshot(u) {
			continue
		}
		c.addGenericTests(n.Name, SnapshotInvariants(n.Name, n.Config, c.sourceSQL(u))...)
	}
}

// checkSnapshot reports a snapshot's missing or contradictory keys and
// says whether its configuration is usable.
func (c *compilation) checkSnapshot(u *unit) bool {
	cfg := u.node.Config
	fail := func(format string, args ...any) bool {
		c.errorf(u.node.Pos, "snapshot %s: "+format, append([]any{u.node.Name}, args...)...)
		return false
	}
	if len(cfg.UniqueKey) == 0 {
		return fail("no unique_key — set unique_key to the column (or list of columns) identifying a row")
	}
	switch cfg.Strategy {
	case "timestamp":
		if cfg.UpdatedAt == "" {
			return fail("strategy 'timestamp' needs updated_at — name the column holding each row's last change time")
		}
	case "check":
		if len(cfg.CheckCols) == 0 {
			return fail("strategy 'check' needs check_cols — list the columns to compare, or write check_cols='all'")
		}
	default:
		return fail("no strategy — set strategy='timestamp' (with updated_at) or strategy='check' (with check_cols)")
	}
	return true
}

// checkCDC reports a delete_condition the model cannot honour.
func (c *compilation) checkCDC(u *unit) {
	cfg := u.node.Config
	strategy := cfg.IncrementalStrategy
	if strategy == "" && len(cfg.UniqueKey) > 0 {
		strategy = "merge"
	}
	switch {
	case cfg.Materialized != "incremental" || strategy != "merge":
		c.errorf(u.node.Pos, "model %s: delete_condition applies only to materialized='incremental' with incremental_strategy='merge' — set both, or remove delete_condition", u.node.Name)
	case len(cfg.UniqueKey) == 0:
		c.errorf(u.node.Pos, "model %s: delete_condition needs a unique_key — set unique_key to the column (or list of columns) identifying a row", u.node.Name)
	case cfg.UpdatedAt == "":
		c.errorf(u.node.Pos, "model %s: delete_condition needs updated_at — name the column holding each change's time, so changes can be ordered", u.node.Name)
	}
}

// sourceSQL returns the snapshot's rendered SELECT as a Jinja raw block,
// or "" when it reads an ephemeral model (whose CTE a test would lack).
func (c *compilation) sourceSQL(u *unit) string {
	for id := range u.deps {
		if dep := c.models[strings.TrimPrefix(string(id), "model.")]; dep != nil && dep.node.Config.Materialized == "ephemeral" {
			return ""
		}
	}
	sql := strings.TrimRight(u.rendered, " \t\r\n;")
	if sql == "" || strings.Contains(sql, "endraw") {
		return ""
	}
	return "{% raw %}" + sql + "{% endraw %}"
}

// SnapshotInvariants returns the invariant tests of snapshot name; src is
// its SELECT (see sourceSQL), "" to leave out the deletion test.
func SnapshotInvariants(name string, cfg manifest.Config, src string) []GenericTest {
	keys := make([]string, len(cfg.UniqueKey))
	for i, k := range cfg.UniqueKey {
		keys[i] = quoteIdent(k)
	}
	keyList := strings.Join(keys, ", ")
	tests := []GenericTest{
		{Name: SnapshotOneCurrentRow + "_" + name, TestName: SnapshotOneCurrentRow, SQL: "select " + keyList +
			", count(*) as current_rows\nfrom {{ model }}\nwhere elt_valid_to is null\ngroup by " + keyList + "\nhaving count(*) > 1\n"},
		{Name: SnapshotValidRanges + "_" + name, TestName: SnapshotValidRanges, SQL: "select *\nfrom {{ model }}\n" +
			"where elt_valid_from is null or (elt_valid_to is not null and not (elt_valid_from < elt_valid_to))\n"},
		{Name: SnapshotNoOverlap + "_" + name, TestName: SnapshotNoOverlap, SQL: "select *\nfrom (\n    select " + keyList +
			", elt_valid_from, elt_valid_to,\n        lead(elt_valid_from) over (partition by " + keyList +
			" order by elt_valid_from) as next_valid_from\n    from {{ model }}\n) as versions\n" +
			"where next_valid_from is not null and (elt_valid_to is null or elt_valid_to > next_valid_from)\n"},
	}
	if src == "" || (cfg.HardDeletes != "invalidate" && cfg.HardDeletes != "new_record") {
		return tests
	}
	current := "snap.elt_valid_to is null"
	if cfg.HardDeletes == "new_record" {
		current += " and not coalesce(snap.elt_is_deleted, false)"
	}
	match := make([]string, len(keys))
	for i, k := range keys {
		match[i] = "src." + k + " is not distinct from snap." + k
	}
	snapKeys := make([]string, len(keys))
	for i, k := range keys {
		snapKeys[i] = "snap." + k
	}
	return append(tests, GenericTest{Name: SnapshotDeletedNotCurrent + "_" + name, TestName: SnapshotDeletedNotCurrent,
		SQL: "select " + strings.Join(snapKeys, ", ") + "\nfrom {{ model }} as snap\nwhere " + current +
			"\n  and not exists (\n    select 1 from (\n" + src + "\n    ) as src\n    where " + strings.Join(match, " and ") + "\n  )\n"})
}

package materialize

import (
	"fmt"
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// QuarantineSuffix names a model's dead-letter table: <model>__quarantine.
const QuarantineSuffix = "__quarantine"

// QuarantineColumns are the columns a quarantine table adds to the model's.
var QuarantineColumns = []string{"elt_reason", "elt_run_id", "elt_quarantined_at"}

// QuarantineRelation returns the quoted dead-letter table of a model.
func QuarantineRelation(schema, name string) string {
	return relation(schema, name+QuarantineSuffix)
}

// BuildChecked is Build plus the model's quarantine rules (SPEC §5): rows
// failing any rule's condition (false or NULL) are inserted into
// <model>__quarantine with all their columns, elt_reason (the names of the
// failed rules, comma-separated), elt_run_id = runID and
// elt_quarantined_at, and kept out of the model. For a table or an
// incremental model the rows move from the staging relation before it is
// published (from a table once it is published, in the same
// transaction, see QuarantineDelete); a view keeps only passing rows and its failing rows are
// recorded at build time. The quarantine table is created on first use and
// kept across runs.
func BuildChecked(in Input, runID string) (Plan, error) {
	rules := in.Config.Quarantine
	if len(rules) == 0 || in.Resource != manifest.Model {
		return Build(in)
	}
	for _, r := range rules {
		if strings.TrimSpace(r.Condition) == "" {
			return Plan{}, fmt.Errorf("quarantine rule %q has no condition — write the SQL a valid row satisfies", r.Name)
		}
	}
	ok, reason := quarantinePredicates(rules)
	q := QuarantineRelation(in.Schema, in.Name)
	switch KeyOf(in).Materialized {
	case "view":
		sql := selectSQL(in.SQL)
		checked := in
		// The model's SQL keeps its first line, so DuckDB's LINE numbers stay true.
		checked.SQL = "SELECT * FROM (" + sql + "\n) AS elt_checked WHERE " + ok
		p, err := Build(checked)
		if err != nil {
			return p, err
		}
		src := "(" + sql + "\n) AS elt_source"
		p.Build = append(p.Build, quarantineStatements(q, src, ok, reason, runID, p.Target)...)
		return p, nil
	case "ephemeral":
		return Plan{}, fmt.Errorf("quarantine rules need a table, view or incremental model, not an ephemeral one — materialize the model")
	}
	p, err := Build(in)
	if err != nil || p.Staging == "" {
		if err == nil {
			err = fmt.Errorf("materialized='%s' does not support quarantine rules", in.Config.Materialized)
		}
		return p, err
	}
	p.Build = append(p.Build, quarantineStatements(q, p.Staging, ok, reason, runID, p.Staging)...)
	if KeyOf(in).Materialized != "table" {
		p.Build = append(p.Build, "DELETE FROM "+p.Staging+" WHERE NOT "+ok)
	}
	// A table's staging relation becomes the target whole: the runner
	// deletes the quarantined rows from it only when there are any
	// (QuarantineDelete), sparing a scan in the common case.
	return p, nil
}

// QuarantineDelete is the statement removing the rows failing rules from
// a published table; run it in the build's transaction when the build
// quarantined rows.
func QuarantineDelete(target string, rules []manifest.QuarantineRule) string {
	ok, _ := quarantinePredicates(rules)
	return "DELETE FROM " + target + " WHERE NOT " + ok
}

// quarantineStatements create the quarantine table q (shaped like
// shape's columns plus the quarantine columns) when missing, and insert
// the failing rows of from into it, by column name.
func quarantineStatements(q, from, ok, reason, runID, shape string) []string {
	return []string{
		"CREATE TABLE IF NOT EXISTS " + q + " AS SELECT *, CAST(NULL AS VARCHAR) AS elt_reason, " +
			"CAST(NULL AS VARCHAR) AS elt_run_id, CAST(NULL AS TIMESTAMP) AS elt_quarantined_at FROM " + shape + " LIMIT 0",
		"INSERT INTO " + q + " BY NAME SELECT *, " + reason + " AS elt_reason, " + quoteString(runID) +
			" AS elt_run_id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_quarantined_at FROM " + from + " WHERE NOT " + ok,
	}
}

// quarantinePredicates returns the SQL that holds for a row passing every
// rule, and the expression naming the rules a row fails.
func quarantinePredicates(rules []manifest.QuarantineRule) (ok, reason string) {
	conds := make([]string, len(rules))
	whens := make([]string, len(rules))
	for i, r := range rules {
		conds[i] = "coalesce((" + r.Condition + "), false)"
		whens[i] = "CASE WHEN NOT " + conds[i] + " THEN " + quoteString(r.Name) + " END"
	}
	return "(" + strings.Join(conds, " AND ") + ")", "concat_ws(', ', " + strings.Join(whens, ", ") + ")"
}

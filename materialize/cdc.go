package materialize

import (
	"errors"
	"fmt"
	"strings"
)

// Column is one column of a relation: its unquoted name and DuckDB type.
type Column struct {
	Name string
	Type string // e.g. "BIGINT", "DECIMAL(10,2)"
}

// CDCDeleted is the column a CDC batch gets while it is merged: whether
// the change matches delete_condition. It is never published.
const CDCDeleted = "__elt_deleted"

// TombstoneSuffix ends the name of a CDC model's tombstone table.
const TombstoneSuffix = "__tombstones"

// IsCDC reports whether in is a CDC merge: an incremental model with the
// merge strategy (named or by default) and a delete_condition.
func IsCDC(in Input) bool {
	return in.Config.Materialized == "incremental" && StrategyOf(in) == "merge" &&
		strings.TrimSpace(in.Config.DeleteCondition) != ""
}

// Tombstones returns the quoted table keeping the deleted keys of the CDC
// model schema.name, in schema elt_state: one row per deleted key with
// its deletion time (elt_deleted_at, of the updated_at column's type).
func Tombstones(schema, name string) string {
	return relation("elt_state", schema+"__"+name+TombstoneSuffix)
}

// CDCIncremental plans a CDC merge model (see IsCDC). Invariants:
//   - the batch (the model's rows) is reduced to the newest change per key
//     by updated_at; on equal times a delete wins, then the smaller hash
//     of the whole row (cheaper to sort than the row itself), so the choice
//     never depends on the order rows arrive in (a NULL updated_at sorts
//     first, to be reported);
//   - a NULL key or updated_at fails the node with a clear error, never
//     multiplying or silently dropping rows;
//   - on a full rebuild (FullRebuild) the reduced batch without its
//     deleted keys becomes the table and its deleted keys the tombstones;
//   - otherwise the plan is Incremental: Build leaves the reduced batch
//     (with CDCDeleted) in the temporary batch table, and CDCPublish
//     checks and applies it.
func CDCIncremental(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	c := in.Config
	if strings.TrimSpace(in.SQL) == "" {
		return Plan{}, fmt.Errorf("model %s has no SQL — write a SELECT in its file", in.Name)
	}
	if len(c.UniqueKey) == 0 {
		return Plan{}, errors.New("delete_condition needs a unique_key — set unique_key to the column (or list of columns) identifying a row")
	}
	if c.UpdatedAt == "" {
		return Plan{}, errors.New("delete_condition needs updated_at — name the column holding each change's time, so changes can be ordered")
	}
	batch := BatchRelation(in)
	keys := joinIdents(c.UniqueKey, "")
	upd := quoteIdent(c.UpdatedAt)
	// The model's SQL follows "AS (" on the first line (see package doc).
	reduce := "CREATE TEMP TABLE " + quoteIdent(in.Name+BatchSuffix) + " AS SELECT * FROM (" + selectSQL(in.SQL) +
		"\n) AS __elt_change\nQUALIFY row_number() OVER (PARTITION BY " + keys + " ORDER BY " + upd + " IS NULL DESC, " + upd + " DESC, " + CDCDeleted +
		" DESC, hash(__elt_change)) = 1"
	// The flag is computed in a projection of its own so that the
	// condition sees exactly the model's columns.
	reduce = strings.Replace(reduce, "SELECT * FROM (", "SELECT * FROM (SELECT *, coalesce(("+c.DeleteCondition+"), false) AS "+CDCDeleted+" FROM (", 1)
	reduce = strings.Replace(reduce, "\n) AS __elt_change\n", "\n) AS __elt_model) AS __elt_change\n", 1)
	build := []string{"DROP TABLE IF EXISTS " + batch, reduce, nullCheck(in.Name, batch, c.UniqueKey, c.UpdatedAt)}
	target := relation(in.Schema, in.Name)
	tomb := Tombstones(in.Schema, in.Name)

	if FullRebuild(in) {
		staging := relation(in.Schema, in.Name+StagingSuffix)
		p := Plan{Target: target, Staging: staging, HasRows: true, Main: 1}
		p.Build = append(build,
			"CREATE OR REPLACE TABLE "+tomb+" AS SELECT "+keys+", "+upd+" AS elt_deleted_at FROM "+batch+" WHERE "+CDCDeleted,
			"DROP TABLE IF EXISTS "+staging,
			"CREATE TABLE "+staging+" AS SELECT * EXCLUDE ("+CDCDeleted+") FROM "+batch+" WHERE NOT "+CDCDeleted,
			"DROP TABLE "+batch,
		)
		switch in.Existing {
		case ExistingView:
			p.Publish = append(p.Publish, "DROP VIEW IF EXISTS "+target)
		case ExistingTable:
			p.Publish = append(p.Publish, "DROP TABLE IF EXISTS "+target)
		}
		p.Publish = append(p.Publish, "ALTER TABLE "+staging+" RENAME TO "+quoteIdent(in.Name))
		return p, nil
	}
	return Plan{Target: target, Staging: batch, HasRows: true, Main: 1, Incremental: true, Build: build[:2]}, nil
}

// CDCPublish returns the statements applying a CDC batch built by
// CDCIncremental to its existing target: the NULL-key check, the
// tombstone table's creation when missing, the schema changes
// on_schema_change asks for, one MERGE INTO the target, one MERGE INTO the
// tombstones, and the batch's DROP. batchCols include CDCDeleted.
//
// The target MERGE sees only changes newer than their key's tombstone; a
// matched row is deleted by a delete not older than it, updated by a
// newer change, and a missing key is inserted unless the change deletes
// it. The tombstone MERGE records each accepted delete's time and removes
// the tombstone of a key an accepted change brings back.
func CDCPublish(in Input, targetCols, batchCols []Column) ([]string, error) {
	c := in.Config
	target := relation(in.Schema, in.Name)
	batch := BatchRelation(in)
	tomb := Tombstones(in.Schema, in.Name)
	var model []Column
	for _, col := range batchCols {
		if col.Name != CDCDeleted {
			model = append(model, col)
		}
	}
	stmts, cols, err := SchemaChange(c.OnSchemaChange, target, targetCols, model)
	if err != nil {
		return nil, err
	}
	if err := requireColumns("unique_key", c.UniqueKey, cols); err != nil {
		return nil, err
	}
	if err := requireColumns("updated_at", []string{c.UpdatedAt}, cols); err != nil {
		return nil, err
	}
	upd := quoteIdent(c.UpdatedAt)
	stmts = append([]string{
		nullCheck(in.Name, batch, c.UniqueKey, c.UpdatedAt),
		"CREATE TABLE IF NOT EXISTS " + tomb + " AS SELECT " + joinIdents(c.UniqueKey, "") + ", " + upd + " AS elt_deleted_at FROM " + batch + " LIMIT 0",
	}, stmts...)
	const t, s, d = mergeTarget, mergeSource, "__elt_tomb"
	on := func(a, b string) string {
		conds := make([]string, len(c.UniqueKey))
		for i, k := range c.UniqueKey {
			conds[i] = a + "." + quoteIdent(k) + " = " + b + "." + quoteIdent(k)
		}
		return strings.Join(conds, " AND ")
	}
	var sets []string
	for _, col := range cols {
		sets = append(sets, quoteIdent(col)+" = "+s+"."+quoteIdent(col))
	}
	notOlder := "(" + t + "." + upd + " IS NULL OR " + s + "." + upd + " >= " + t + "." + upd + ")"
	newer := "(" + t + "." + upd + " IS NULL OR " + s + "." + upd + " > " + t + "." + upd + ")"
	merge := "MERGE INTO " + target + " AS " + t +
		"\nUSING (SELECT " + s + ".* FROM " + batch + " AS " + s + " LEFT JOIN " + tomb + " AS " + d + " ON " + on(s, d) +
		" WHERE " + d + ".elt_deleted_at IS NULL OR " + s + "." + upd + " > " + d + ".elt_deleted_at) AS " + s +
		"\nON " + on(t, s) +
		"\nWHEN MATCHED AND " + s + "." + CDCDeleted + " AND " + notOlder + " THEN DELETE" +
		"\nWHEN MATCHED AND NOT " + s + "." + CDCDeleted + " AND " + newer + " THEN UPDATE SET " + strings.Join(sets, ", ") +
		"\nWHEN NOT MATCHED AND NOT " + s + "." + CDCDeleted + " THEN INSERT (" + joinIdents(cols, "") + ") VALUES (" + joinIdents(cols, s+".") + ")"
	tombMerge := "MERGE INTO " + tomb + " AS " + d +
		"\nUSING (SELECT " + joinIdents(c.UniqueKey, "") + ", " + upd + ", " + CDCDeleted + " FROM " + batch + ") AS " + s +
		"\nON " + on(d, s) +
		"\nWHEN MATCHED AND " + s + "." + upd + " > " + d + ".elt_deleted_at AND " + s + "." + CDCDeleted + " THEN UPDATE SET elt_deleted_at = " + s + "." + upd +
		"\nWHEN MATCHED AND " + s + "." + upd + " > " + d + ".elt_deleted_at THEN DELETE" +
		"\nWHEN NOT MATCHED AND " + s + "." + CDCDeleted + " THEN INSERT VALUES (" + joinIdents(c.UniqueKey, s+".") + ", " + s + "." + upd + ")"
	return append(stmts, merge, tombMerge, "DROP TABLE "+batch), nil
}

// nullCheck returns a query that fails with a clear message when a row of
// rel has a NULL key column or (when updatedAt is set) a NULL updatedAt,
// and returns nothing otherwise. rel is the reduced batch, in which a
// change with a NULL updatedAt always survives its key's reduction.
func nullCheck(model, rel string, keys []string, updatedAt string) string {
	conds := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		conds = append(conds, quoteIdent(k)+" IS NULL")
	}
	what := "unique_key (" + strings.Join(keys, ", ") + ")"
	if updatedAt != "" {
		conds = append(conds, quoteIdent(updatedAt)+" IS NULL")
		what += " or updated_at (" + updatedAt + ")"
	}
	return "SELECT error(" + quoteString("model "+model+": rows have a NULL in "+what+" — filter them out or coalesce the column in the model") +
		") FROM " + rel + " WHERE " + strings.Join(conds, " OR ") + " HAVING count(*) > 0"
}

package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/warehouse"
)

// runNodePlan runs plan inside the node's transaction tx and returns the
// target's row count (-1 when it has none). Plain plans go to runPlan in
// one call. An incremental plan (plan.Incremental) runs in three steps on
// the same transaction: build the batch, read the target's and the
// batch's columns, then apply materialize.Publish's statements (schema
// changes, the strategy, the batch's DROP) with the row count. An
// external plan writes its files, moves them under the model's location,
// then publishes its view. Either way the node's state row is written by
// the caller in the same transaction, after this returns.
func (r *run) runNodePlan(ctx context.Context, tx *warehouse.Tx, in materialize.Input, plan materialize.Plan) (int64, error) {
	if err := failpoint("node-plan"); err != nil {
		return -1, err
	}
	switch {
	case plan.External != nil:
		return r.runExternal(ctx, tx, plan)
	case plan.Incremental:
		return r.runIncremental(ctx, tx, in, plan, false)
	}
	return r.runPlan(ctx, tx, plan)
}

// runIncremental builds the batch and publishes it (see runNodePlan).
// With recreate (a microbatch's full refresh) the target is treated as
// missing: Publish drops it and creates it from the batch.
func (r *run) runIncremental(ctx context.Context, tx *warehouse.Tx, in materialize.Input, plan materialize.Plan, recreate bool) (int64, error) {
	return r.runIncrementalCols(ctx, tx, in, plan, recreate, nil)
}

// runIncrementalCols is runIncremental that also hands the columns it read
// to seen (when not nil) before publishing.
func (r *run) runIncrementalCols(ctx context.Context, tx *warehouse.Tx, in materialize.Input, plan materialize.Plan, recreate bool,
	seen func(targetCols, batchCols []materialize.Column) error) (int64, error) {
	if plan.Main > 0 {
		if err := tx.Exec(ctx, strings.Join(plan.Build[:plan.Main], "\n;\n")); err != nil {
			return -1, err
		}
	}
	if err := tx.ExecAlone(ctx, plan.Build[plan.Main]); err != nil {
		return -1, err
	}
	// What follows the batch's creation works on the batch: the
	// quarantine's statements route its failing rows out of it.
	if rest := plan.Build[plan.Main+1:]; len(rest) > 0 {
		if err := tx.Exec(ctx, strings.Join(rest, "\n;\n")); err != nil {
			return -1, err
		}
	}
	targetCols, batchCols, err := batchColumns(ctx, tx, in)
	if err != nil {
		return -1, err
	}
	if recreate || in.Existing != materialize.ExistingTable {
		targetCols = nil
	}
	if seen != nil {
		if err := seen(targetCols, batchCols); err != nil {
			return -1, err
		}
	}
	if targetCols != nil {
		if in.KeyRange, err = keyRange(ctx, tx, in, batchCols); err != nil {
			return -1, err
		}
	}
	stmts, err := materialize.Publish(in, targetCols, batchCols)
	if err != nil {
		return -1, err
	}
	return countAfter(ctx, tx, stmts, plan.Target)
}

// keyRange returns the range of the first column delete+insert or
// insert_overwrite matches on over the batch, when its type makes the
// range exact (materialize.RangeType); nil otherwise, or for an empty
// batch or one whose keys are all NULL.
func keyRange(ctx context.Context, tx *warehouse.Tx, in materialize.Input, batchCols []materialize.Column) (*materialize.KeyRange, error) {
	var cols []string
	switch materialize.StrategyOf(in) {
	case "delete+insert":
		cols = in.Config.UniqueKey
	case "insert_overwrite":
		cols = in.Config.PartitionBy
	}
	if len(cols) == 0 {
		return nil, nil
	}
	var typ string
	for _, c := range batchCols {
		if strings.EqualFold(c.Name, cols[0]) {
			typ = c.Type
		}
	}
	if !materialize.RangeType(typ) {
		return nil, nil
	}
	col := warehouse.QuoteIdent(cols[0])
	res, err := tx.Query(ctx, "SELECT CAST(min("+col+") AS VARCHAR), CAST(max("+col+") AS VARCHAR), bool_or("+col+" IS NULL) FROM "+
		materialize.BatchRelation(in))
	if err != nil {
		return nil, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3 {
		return nil, fmt.Errorf("key range of %s: unexpected result %v", in.Name, res.Rows)
	}
	lo, okLo := res.Rows[0][0].(string)
	hi, okHi := res.Rows[0][1].(string)
	if !okLo || !okHi {
		return nil, nil
	}
	hasNull, _ := res.Rows[0][2].(bool)
	return &materialize.KeyRange{Column: cols[0], Type: typ, Min: lo, Max: hi, HasNull: hasNull}, nil
}

// countAfter runs stmts and then counts target's rows, in one call.
func countAfter(ctx context.Context, tx *warehouse.Tx, stmts []string, target string) (int64, error) {
	res, err := tx.Query(ctx, strings.Join(append(stmts, "SELECT count(*) FROM "+target), "\n;\n"))
	if err != nil {
		return -1, err
	}
	return countResult(target, res)
}

// batchColumns reads, in one query inside tx, the columns of in's target
// (none unless in.Existing is a table) and of its batch temporary table,
// each in column order. pragma_table_info looks up the two tables by name,
// where duckdb_columns() would list every column of the database (10 ms
// on a cold catalog, the most of a small incremental run's bookkeeping).
// DuckDB 1.5 reads a doubled quote in pragma_table_info's name as nothing
// ("a""b" is ab), so names holding a quote take the catalog scan.
func batchColumns(ctx context.Context, tx *warehouse.Tx, in materialize.Input) (target, batch []materialize.Column, err error) {
	q := `SELECT true AS is_batch, cid, name, type FROM pragma_table_info(` + warehouse.QuoteString(materialize.BatchRelation(in)) + `)`
	if in.Existing == materialize.ExistingTable {
		q = `SELECT false AS is_batch, cid, name, type FROM pragma_table_info(` +
			warehouse.QuoteString(warehouse.Relation(in.Schema, in.Name)) + `)
UNION ALL ` + q
	}
	if strings.Contains(in.Schema+in.Name, `"`) {
		q = `SELECT database_name = 'temp' AS is_batch, column_index AS cid, column_name, data_type FROM duckdb_columns()
WHERE (database_name = current_database() AND schema_name = ` + warehouse.QuoteString(in.Schema) + ` AND table_name = ` + warehouse.QuoteString(in.Name) + `)
   OR (database_name = 'temp' AND schema_name = 'main' AND table_name = ` + warehouse.QuoteString(in.Name+materialize.BatchSuffix) + `)`
	}
	res, err := tx.Query(ctx, q+"\nORDER BY is_batch, cid")
	if err != nil {
		return nil, nil, err
	}
	for _, row := range res.Rows {
		c := materialize.Column{Name: fmt.Sprint(row[2]), Type: fmt.Sprint(row[3])}
		if isBatch, _ := row[0].(bool); isBatch {
			batch = append(batch, c)
		} else {
			target = append(target, c)
		}
	}
	if len(batch) == 0 {
		return nil, nil, fmt.Errorf("the batch of %s has no columns", in.Name)
	}
	return target, batch, nil
}

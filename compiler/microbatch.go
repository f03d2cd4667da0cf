package compiler

import (
	"github.com/elt-dev/elt/manifest"
)

// batchFiltered returns rel as the model being rendered should read dep.
// Inside a microbatch model, a ref() or source() of a node declaring
// event_time reads only the current batch: it renders as a subquery
// keeping the rows between manifest.BatchStartToken and BatchEndToken,
// which the runner replaces with each interval's bounds. DuckDB pushes
// the filter into the scan (row-group min/max of tables and Parquet,
// hive partition pruning when event_time is the partition column), so a
// batch does not read the whole history. Elsewhere rel is returned as is.
func (st *renderState) batchFiltered(rel relation, dep *manifest.Node) relation {
	if st.pass != final || st.u == nil || !st.u.node.IsMicrobatch() || dep == nil {
		return rel
	}
	et := dep.EventTimeOf()
	if et == "" {
		return rel
	}
	col := quoteIdent(et)
	rel.expr = "(SELECT * FROM " + rel.String() + " WHERE " + col + " >= TIMESTAMP '" + manifest.BatchStartToken +
		"' AND " + col + " < TIMESTAMP '" + manifest.BatchEndToken + "')"
	return rel
}

// incrementalKind reports whether is_incremental() can be true for a
// model configured as cfg: incremental models, and external models that
// name an incremental_strategy (they rewrite only their batch's partitions).
func incrementalKind(cfg manifest.Config) bool {
	return cfg.Materialized == "incremental" || (cfg.Materialized == "external" && cfg.IncrementalStrategy != "")
}

package runner

import (
	"context"
	"regexp"
	"sort"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// RejectsSuffix names the table of a model's rejected source rows.
const RejectsSuffix = "__rejects"

var (
	rejectsTableRE = regexp.MustCompile(`rejects_table='([^']+)'`)
	rejectsScanRE  = regexp.MustCompile(`rejects_scan='([^']+)'`)
)

// rejectSource is a CSV source read with store_rejects: the temporary
// tables DuckDB fills with its malformed rows.
type rejectSource struct {
	source        manifest.NodeID
	errors, scans string
}

// rejectSources lists the store_rejects sources n reads directly or
// through views and ephemeral models, sorted by source.
func (r *run) rejectSources(n *manifest.Node) []rejectSource {
	if n.ResourceType != manifest.Model {
		return nil
	}
	seen := map[manifest.NodeID]bool{}
	var out []rejectSource
	var walk func(n *manifest.Node)
	walk = func(n *manifest.Node) {
		for _, dep := range n.DependsOn {
			d := r.m.Nodes[dep]
			if d == nil || seen[dep] {
				continue
			}
			seen[dep] = true
			switch {
			case d.ResourceType == manifest.Source:
				t, s := rejectsTableRE.FindStringSubmatch(d.Relation), rejectsScanRE.FindStringSubmatch(d.Relation)
				if t != nil && s != nil {
					out = append(out, rejectSource{source: dep, errors: t[1], scans: s[1]})
				}
			case d.ResourceType == manifest.Model && (d.Config.Materialized == "ephemeral" || d.Config.Materialized == "view"):
				walk(d)
			}
		}
	}
	walk(n)
	sort.Slice(out, func(i, j int) bool { return out[i].source < out[j].source })
	return out
}

// clearRejects drops the reject tables n's sources fill, so that after its
// build they hold exactly the rows its own scans rejected (DuckDB appends
// to them for every scan on a connection, and connections are pooled).
func clearRejects(ctx context.Context, tx *warehouse.Tx, srcs []rejectSource) error {
	for _, s := range srcs {
		if err := tx.Exec(ctx, "DROP TABLE IF EXISTS temp.main."+warehouse.QuoteIdent(s.errors)+
			";\nDROP TABLE IF EXISTS temp.main."+warehouse.QuoteIdent(s.scans)); err != nil {
			return err
		}
	}
	return nil
}

// captureRejects appends the rows n's build rejected to <model>__rejects
// (source, file, line, column, error type, raw line, error, elt_run_id,
// elt_rejected_at), kept across runs, and returns how many there were.
func (r *run) captureRejects(ctx context.Context, tx *warehouse.Tx, n *manifest.Node, srcs []rejectSource) (int64, error) {
	var total int64
	target := warehouse.Relation(schemaOf(n), nameOf(n)+RejectsSuffix)
	for _, s := range srcs {
		exists, err := scalarInt(ctx, tx, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = "+warehouse.QuoteString(s.errors))
		if err != nil {
			return -1, err
		}
		if exists == 0 {
			continue
		}
		sel := "SELECT " + warehouse.QuoteString(string(s.source)) + " AS source, s.file_path AS file, e.line, " +
			"e.column_name, CAST(e.error_type AS VARCHAR) AS error_type, e.csv_line AS raw_line, e.error_message AS error, " +
			warehouse.QuoteString(r.opts.InvocationID) + " AS elt_run_id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_rejected_at " +
			"FROM temp.main." + warehouse.QuoteIdent(s.errors) + " AS e JOIN temp.main." + warehouse.QuoteIdent(s.scans) +
			" AS s USING (scan_id, file_id)"
		if err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+target+" AS "+sel+" LIMIT 0;\nINSERT INTO "+target+" "+sel); err != nil {
			return -1, err
		}
		c, err := scalarInt(ctx, tx, "SELECT count(*) FROM temp.main."+warehouse.QuoteIdent(s.errors))
		if err != nil {
			return -1, err
		}
		total += c
	}
	return total, clearRejects(ctx, tx, srcs)
}

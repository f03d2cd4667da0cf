package lineage

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// known is what the builder knows of a seed's or source's columns.
type known struct {
	names []string
	types map[string]string
	exact bool
}

// builder computes a Lineage. It analyses models depth-first so that a
// model's upstream models are analysed before it.
type builder struct {
	ctx        context.Context
	db         *warehouse.DB
	man        *manifest.Manifest
	aggregates map[string]bool
	catalog    map[string][]warehouse.Column // lower "schema.name" → columns
	known      map[manifest.NodeID]*known
	relIdx     map[string][]manifest.NodeID // lower "schema.name" and "name"
	trees      map[manifest.NodeID]map[string]any
	parseErr   map[manifest.NodeID]string
	state      map[manifest.NodeID]int // 1 analysing, 2 done
	out        *Lineage
}

// Build computes the column lineage of every model, seed and source of m.
// db parses the SQL (json_serialize_sql) and answers what the database
// knows: the columns and types of built relations and of source files,
// and the names DuckDB gives unaliased expressions. db may be an empty
// in-memory database; then columns come from the SQL and the YAML alone.
func Build(ctx context.Context, db *warehouse.DB, m *manifest.Manifest) (*Lineage, error) {
	b := &builder{
		ctx: ctx, db: db, man: m,
		known:    map[manifest.NodeID]*known{},
		relIdx:   map[string][]manifest.NodeID{},
		trees:    map[manifest.NodeID]map[string]any{},
		parseErr: map[manifest.NodeID]string{},
		state:    map[manifest.NodeID]int{},
		out:      &Lineage{Manifest: m, Nodes: map[manifest.NodeID]*Node{}},
	}
	if err := b.loadAggregates(); err != nil {
		return nil, err
	}
	if err := b.loadCatalog(); err != nil {
		return nil, err
	}
	var models []manifest.NodeID
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		switch n.ResourceType {
		case manifest.Model:
			models = append(models, id)
		case manifest.Seed, manifest.Source:
			b.loadKnown(n)
		default:
			continue
		}
		if schema, name, ok := warehouse.SplitRelation(n.Relation); ok {
			b.relIdx[lower(schema+"."+name)] = append(b.relIdx[lower(schema+"."+name)], id)
			b.relIdx[lower(name)] = append(b.relIdx[lower(name)], id)
		}
	}
	if err := b.parseAll(models); err != nil {
		return nil, err
	}
	for _, id := range models {
		b.analyze(id)
	}
	b.out.index()
	return b.out, nil
}

// loadAggregates asks DuckDB which functions are aggregates.
func (b *builder) loadAggregates() error {
	res, err := b.db.Query(b.ctx, "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'")
	if err != nil {
		return fmt.Errorf("lineage: cannot list aggregate functions: %w", err)
	}
	b.aggregates = map[string]bool{"count_star": true}
	for _, r := range res.Rows {
		b.aggregates[r[0].(string)] = true
	}
	return nil
}

// loadCatalog reads the columns of every relation of the database.
func (b *builder) loadCatalog() error {
	res, err := b.db.Query(b.ctx, `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()
WHERE database_name = current_database() ORDER BY schema_name, table_name, column_index`)
	if err != nil {
		return fmt.Errorf("lineage: cannot read the database catalog: %w", err)
	}
	b.catalog = map[string][]warehouse.Column{}
	for _, r := range res.Rows {
		k := lower(r[0].(string) + "." + r[1].(string))
		b.catalog[k] = append(b.catalog[k], warehouse.Column{Name: r[2].(string), Type: r[3].(string)})
	}
	return nil
}

// catalogColumns returns the database's columns of a quoted relation.
func (b *builder) catalogColumns(relation string) ([]warehouse.Column, bool) {
	schema, name, ok := warehouse.SplitRelation(relation)
	if !ok {
		return nil, false
	}
	cols, ok := b.catalog[lower(schema+"."+name)]
	return cols, ok
}

// loadKnown fills the columns of a seed or source: the database's (built
// relation, or DESCRIBE of a source's reader), else its YAML columns.
func (b *builder) loadKnown(n *manifest.Node) {
	k := &known{types: map[string]string{}}
	cols, ok := b.catalogColumns(n.Relation)
	if !ok && n.Relation != "" && (n.Source != nil && n.Source.Path != "" || n.Seed != nil) {
		query := "SELECT * FROM " + n.Relation
		if n.Seed != nil {
			query = "SELECT * FROM read_csv(" + warehouse.QuoteString(n.Seed.Path) + ", header = true)"
		}
		if c, err := b.describe(query); err == nil {
			cols, ok = c, true
		}
	}
	if ok {
		k.exact = true
		for _, c := range cols {
			k.names = append(k.names, c.Name)
			k.types[lower(c.Name)] = c.Type
		}
		if n.Seed != nil {
			for name, t := range n.Config.ColumnTypes {
				if _, built := b.catalogColumns(n.Relation); !built {
					k.types[lower(name)] = strings.ToUpper(t)
				}
			}
		}
	} else {
		for _, c := range n.Columns {
			k.names = append(k.names, c.Name)
		}
	}
	b.known[n.ID] = k
	ln := &Node{ID: n.ID, Exact: k.exact}
	for _, name := range k.names {
		ln.Columns = append(ln.Columns, Column{Name: name, Type: k.types[lower(name)]})
	}
	b.out.Nodes[n.ID] = ln
}

// describe returns the bound output columns of query.
func (b *builder) describe(query string) ([]warehouse.Column, error) {
	return b.db.Columns(b.ctx, "("+strings.TrimRight(strings.TrimSpace(query), ";")+")")
}

// lookupRelation finds the node a base table names, preferring the
// node's own dependencies.
func (b *builder) lookupRelation(from *manifest.Node, schema, name string) (manifest.NodeID, bool) {
	key := lower(name)
	if schema != "" {
		key = lower(schema + "." + name)
	}
	if schema == "" && name == manifest.StreamEventsToken {
		// A stream model's batch of events: its stream source.
		for _, d := range from.DependsOn {
			if n := b.man.Nodes[d]; n != nil && n.IsStreamSource() {
				return d, true
			}
		}
	}
	cands := b.relIdx[key]
	for _, c := range cands {
		for _, d := range from.DependsOn {
			if c == d {
				return c, true
			}
		}
	}
	if len(cands) == 1 {
		return cands[0], true
	}
	return "", false
}

// relOf returns the relation of node id, analysing a model first.
func (b *builder) relOf(id manifest.NodeID, alias string) *rel {
	if id.Type() == manifest.Model {
		b.analyze(id)
	}
	ln := b.out.Nodes[id]
	if ln == nil {
		return &rel{alias: alias, base: id, rows: depSet{}, desc: string(id)}
	}
	names := make([]string, 0, len(ln.Columns))
	for _, c := range ln.Columns {
		if c.Name != "" {
			names = append(names, c.Name)
		}
	}
	return nodeRel(id, names, ln.Exact, alias)
}

// parseAll parses the compiled SQL of every model with DuckDB's parser,
// in batches, in parallel.
func (b *builder) parseAll(ids []manifest.NodeID) error {
	const batch = 400
	type job struct{ ids []manifest.NodeID }
	jobs := make(chan job)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				trees, errs, err := b.parseBatch(j.ids)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for id, t := range trees {
					b.trees[id] = t
				}
				for id, e := range errs {
					b.parseErr[id] = e
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < len(ids); i += batch {
		jobs <- job{ids[i:min(i+batch, len(ids))]}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// parseBatch serializes the parse trees of ids in one query.
func (b *builder) parseBatch(ids []manifest.NodeID) (map[manifest.NodeID]map[string]any, map[manifest.NodeID]string, error) {
	var q strings.Builder
	q.WriteString("SELECT i, json_serialize_sql(s)::VARCHAR FROM (VALUES ")
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "(%d, %s)", i, warehouse.QuoteString(b.man.Nodes[id].CompiledSQL))
	}
	q.WriteString(") AS t(i, s) ORDER BY i")
	res, err := b.db.Query(b.ctx, q.String())
	if err != nil {
		return nil, nil, fmt.Errorf("lineage: cannot parse the models' SQL: %w", err)
	}
	trees := map[manifest.NodeID]map[string]any{}
	errs := map[manifest.NodeID]string{}
	for _, r := range res.Rows {
		id := ids[int(r[0].(int32))]
		var doc struct {
			Error      bool             `json:"error"`
			Message    string           `json:"error_message"`
			Statements []map[string]any `json:"statements"`
		}
		if err := json.Unmarshal([]byte(r[1].(string)), &doc); err != nil {
			errs[id] = "DuckDB's parse tree could not be read: " + err.Error()
			continue
		}
		switch {
		case doc.Error:
			errs[id] = "DuckDB cannot parse the compiled SQL: " + doc.Message
		case len(doc.Statements) != 1:
			errs[id] = fmt.Sprintf("the compiled SQL holds %d statements, not one select", len(doc.Statements))
		default:
			node, _ := obj(doc.Statements[0]["node"])
			trees[id] = node
		}
	}
	return trees, errs, nil
}

// analyze computes the lineage of model id once.
func (b *builder) analyze(id manifest.NodeID) {
	switch b.state[id] {
	case 2:
		return
	case 1:
		b.out.Nodes[id] = &Node{ID: id, Issues: []Issue{{Message: "model is on a cycle of refs — its columns are unknown"}}}
		return
	}
	b.state[id] = 1
	n := b.man.Nodes[id]
	ln := &Node{ID: id}
	a := &analyzer{b: b, node: n, sql: n.CompiledSQL}
	tree := b.trees[id]
	if tree == nil {
		msg := b.parseErr[id]
		if msg == "" {
			msg = "the model has no compiled SQL"
		}
		ln.Issues = append(ln.Issues, Issue{Pos: diag.Pos{File: n.Path, Line: 1}, Message: msg})
		b.out.Nodes[id] = ln
		b.state[id] = 2
		return
	}
	r := a.query(tree, nil)
	ln.Exact = r.exact
	var described []warehouse.Column
	if len(r.unnamed) > 0 {
		cols, err := b.describe(n.CompiledSQL)
		if err == nil && len(cols) == len(r.cols) {
			described = cols
			for _, i := range r.unnamed {
				r.cols[i].name = cols[i].Name
			}
		} else {
			for _, i := range r.unnamed {
				a.issuef(-1, "column %d is an expression without an alias and DuckDB cannot bind the query here to name it — give it an alias", i+1)
			}
		}
	}
	if n.Config.Materialized == "snapshot" {
		// A snapshot (SCD type 2) adds its bookkeeping columns (SPEC §5).
		extra := []string{"elt_valid_from", "elt_valid_to", "elt_scd_id", "elt_updated_at"}
		if n.Config.HardDeletes == "new_record" {
			extra = append(extra, "elt_is_deleted")
		}
		for _, name := range extra {
			if r.find(name) == nil {
				r.cols = append(r.cols, &rcol{name: name, deps: depSet{}})
			}
		}
	}
	types := map[string]string{}
	if cols, ok := b.catalogColumns(n.Relation); ok {
		for _, c := range cols {
			types[lower(c.Name)] = c.Type
		}
	}
	for _, c := range described {
		if _, ok := types[lower(c.Name)]; !ok {
			types[lower(c.Name)] = c.Type
		}
	}
	lines := newLineMap(n)
	for _, c := range r.cols {
		col := Column{Name: c.name, Type: types[lower(c.name)], Deps: c.deps.sorted()}
		for i := range col.Deps {
			col.Deps[i].Line = lines.line(col.Deps[i].offset, col.Deps[i].Column)
		}
		ln.Columns = append(ln.Columns, col)
	}
	ln.Rows = r.rows.sorted()
	for i := range ln.Rows {
		ln.Rows[i].Line = lines.line(ln.Rows[i].offset, ln.Rows[i].Column)
	}
	seen := map[string]bool{}
	for _, is := range a.issues {
		line := lines.line(is.offset, "")
		key := fmt.Sprint(line, is.msg)
		if seen[key] {
			continue
		}
		seen[key] = true
		ln.Issues = append(ln.Issues, Issue{Pos: diag.Pos{File: n.Path, Line: line}, Message: is.msg})
	}
	b.out.Nodes[id] = ln
	b.state[id] = 2
}

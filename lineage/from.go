package lineage

import (
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// from adds the relations of a FROM clause item to sc, with the
// dependencies its joins put on the rows.
func (a *analyzer) from(t map[string]any, sc *scope) {
	switch str(t["type"]) {
	case "BASE_TABLE":
		r := a.baseTable(t, sc)
		sc.rows.merge(r.rows, Value)
		sc.rels = append(sc.rels, r)
	case "JOIN":
		a.join(t, sc)
	case "SUBQUERY":
		q, _ := obj(t["subquery"])
		body, _ := obj(q["node"])
		r := a.query(body, sc)
		alias := str(t["alias"])
		if alias == "" {
			alias = "unnamed_subquery"
		}
		out := r.renamed(alias, strs(t["column_name_alias"]))
		out.desc = "subquery " + alias
		sc.rows.merge(r.rows, Value)
		out.rows = depSet{}
		sc.rels = append(sc.rels, out)
	case "TABLE_FUNCTION":
		sc.rels = append(sc.rels, a.tableFunction(t, sc))
	case "EXPRESSION_LIST":
		sc.rels = append(sc.rels, a.valuesList(t, sc))
	case "EMPTY_FROM", "EMPTY":
	default:
		a.issuef(offsetOf(t), "a %s in FROM is not supported by lineage — its columns are unknown", strings.ToLower(str(t["type"])))
		sc.rels = append(sc.rels, &rel{alias: str(t["alias"]), rows: depSet{}, desc: strings.ToLower(str(t["type"]))})
	}
}

// baseTable resolves a table name: a CTE in scope, an inlined ephemeral
// model, or a node of the project by its relation.
func (a *analyzer) baseTable(t map[string]any, sc *scope) *rel {
	name, schema := str(t["table_name"]), str(t["schema_name"])
	alias := str(t["alias"])
	if alias == "" {
		alias = name
	}
	aliases := strs(t["column_name_alias"])
	if schema == "" {
		if strings.HasPrefix(lower(name), ephemeralPrefix) {
			id := manifest.ModelID(name[len(ephemeralPrefix):])
			if a.b.man.Node(id) != nil {
				return a.b.relOf(id, alias).renamed(alias, aliases)
			}
		}
		if c := sc.findCTE(name); c != nil {
			r := a.cte(c)
			out := r.renamed(alias, aliases)
			out.desc = "CTE " + c.name
			out.rows = r.rows
			return out
		}
	}
	if id, ok := a.b.lookupRelation(a.node, schema, name); ok {
		out := a.b.relOf(id, alias).renamed(alias, aliases)
		out.schema, out.table = schema, name
		return out
	}
	a.issuef(offsetOf(t), "relation %s is not a node of this project — its columns are unknown (use ref() or source())", tableName(t))
	return &rel{alias: alias, schema: schema, table: name, rows: depSet{}, desc: "relation " + tableName(t)}
}

// cte analyses a CTE once; a reference from inside its own body (a
// recursive CTE) sees a relation with unknown columns.
func (a *analyzer) cte(c *cte) *rel {
	if c.result != nil {
		return c.result
	}
	if c.busy {
		return &rel{alias: c.name, rows: depSet{}, desc: "recursive CTE " + c.name}
	}
	c.busy = true
	r := a.query(c.node, c.def)
	c.busy = false
	r = r.renamed(c.name, c.aliases)
	c.result = r
	return r
}

// join adds both sides of a join and the dependencies of its condition,
// USING or NATURAL columns.
func (a *analyzer) join(t map[string]any, sc *scope) {
	left, _ := obj(t["left"])
	right, _ := obj(t["right"])
	start := len(sc.rels)
	a.from(left, sc)
	mid := len(sc.rels)
	a.from(right, sc)
	leftRels, rightRels := sc.rels[start:mid], sc.rels[mid:]
	if c, ok := obj(t["condition"]); ok {
		sc.rows.merge(a.expr(c, sc), Join)
	}
	using := strs(t["using_columns"])
	if str(t["ref_type"]) == "NATURAL" {
		using = nil
		for _, r := range rightRels {
			if !r.exact {
				a.issuef(offsetOf(t), "NATURAL JOIN with %s whose columns are unknown — its join columns are unknown", r.desc)
				continue
			}
			for _, c := range r.cols {
				for _, l := range leftRels {
					if l.find(c.name) != nil {
						using = append(using, c.name)
						break
					}
				}
			}
		}
	}
	for _, u := range using {
		var holders []*rel
		for _, side := range [][]*rel{leftRels, rightRels} {
			found := false
			for _, r := range side {
				if c := r.find(u); c != nil {
					holders = append(holders, r)
					sc.rows.merge(c.deps, Join)
					found = true
					break
				}
			}
			if !found {
				for _, r := range side {
					if r.base != "" && !r.exact {
						col := &rcol{name: u, deps: depSet{}}
						col.deps.add(Dep{Ref: Ref{r.base, u}, Kind: Value, offset: offsetOf(t)})
						r.cols = append(r.cols, col)
						holders = append(holders, r)
						sc.rows.merge(col.deps, Join)
						found = true
						break
					}
				}
			}
			if !found {
				a.issuef(offsetOf(t), "USING column %s is not a known column of %s", u, joinNames(side))
			}
		}
		if prev, ok := sc.using[lower(u)]; ok {
			holders = append(prev, holders...)
		}
		sc.using[lower(u)] = dedupRels(holders)
	}
}

func dedupRels(rs []*rel) []*rel {
	var out []*rel
	seen := map[*rel]bool{}
	for _, r := range rs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// tableFunction resolves a table function: a source's reader (recognised
// by its text in the compiled SQL), or a function such as generate_series
// whose output columns depend on its arguments.
func (a *analyzer) tableFunction(t map[string]any, sc *scope) *rel {
	alias := str(t["alias"])
	off := offsetOf(t)
	fn, _ := obj(t["function"])
	if off < 0 {
		off = offsetOf(fn)
	}
	aliases := strs(t["column_name_alias"])
	if off >= 0 && off < len(a.sql) {
		for _, dep := range a.node.DependsOn {
			n := a.b.man.Node(dep)
			if n == nil || n.ResourceType != manifest.Source || n.Relation == "" {
				continue
			}
			if strings.HasPrefix(a.sql[off:], n.Relation) {
				if alias == "" {
					alias = str(fn["function_name"])
				}
				return a.b.relOf(dep, alias).renamed(alias, aliases)
			}
		}
	}
	name := lower(str(fn["function_name"]))
	if alias == "" {
		alias = name
	}
	args := a.expr(fn, sc)
	r := &rel{alias: alias, rows: depSet{}, desc: "table function " + name}
	names := aliases
	if len(names) == 0 {
		switch name {
		case "generate_series", "range", "unnest":
			names = []string{name}
		}
	}
	if len(names) > 0 && (len(aliases) > 0 || name != "unnest") {
		r.exact = true
	}
	for _, n := range names {
		r.cols = append(r.cols, &rcol{name: n, deps: cloneSet(args)})
	}
	return r
}

// valuesList is a VALUES list: column i depends on the i-th value of
// every row.
func (a *analyzer) valuesList(t map[string]any, sc *scope) *rel {
	r := &rel{alias: str(t["alias"]), rows: depSet{}, exact: true, desc: "VALUES list"}
	names := strs(t["expected_names"])
	for _, row := range arr(t["values"]) {
		for i, v := range arr(row) {
			for len(r.cols) <= i {
				name := "col" + itoa(len(r.cols))
				if len(r.cols) < len(names) {
					name = names[len(r.cols)]
				}
				r.cols = append(r.cols, &rcol{name: name, deps: depSet{}})
			}
			if e, ok := obj(v); ok {
				r.cols[i].deps.merge(a.expr(e, sc), Value)
			}
		}
	}
	return r
}

func cloneSet(s depSet) depSet {
	out := make(depSet, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

package lineage

import (
	"strconv"
	"strings"
)

// expr returns the dependencies of expression e in scope sc: columns it
// reads by value, and with their own kinds the columns that only filter
// (an aggregate's FILTER) or order and partition (a window) the rows it
// computes over. count(*) reads no column.
func (a *analyzer) expr(e map[string]any, sc *scope) depSet {
	out := depSet{}
	a.walk(e, sc, out)
	return out
}

// walk adds the dependencies of any parse-tree value v to out.
func (a *analyzer) walk(v any, sc *scope, out depSet) {
	switch x := v.(type) {
	case []any:
		for _, y := range x {
			a.walk(y, sc, out)
		}
	case map[string]any:
		if _, isExpr := x["class"]; !isExpr {
			for _, k := range sortedKeys(x) {
				a.walk(x[k], sc, out)
			}
			return
		}
		a.walkExpr(x, sc, out)
	}
}

// walkExpr handles one expression node by its class.
func (a *analyzer) walkExpr(e map[string]any, sc *scope, out depSet) {
	switch str(e["class"]) {
	case "COLUMN_REF":
		a.column(strs(e["column_names"]), offsetOf(e), sc, out, Value)
	case "CONSTANT", "PARAMETER", "DEFAULT":
	case "STAR":
		a.issuef(offsetOf(e), "`*` or COLUMNS(...) inside an expression is not supported by lineage — give the columns by name")
	case "FUNCTION", "AGGREGATE":
		for _, k := range []string{"children", "order_bys"} {
			a.walk(e[k], sc, out)
		}
		if f, ok := obj(e["filter"]); ok {
			out.merge(a.expr(f, sc), Filter)
		}
	case "WINDOW":
		for _, k := range []string{"children", "start_expr", "end_expr", "offset_expr", "default_expr", "arg_orders"} {
			a.walk(e[k], sc, out)
		}
		win := depSet{}
		a.walk(e["partitions"], sc, win)
		a.walk(e["orders"], sc, win)
		out.merge(win, Window)
		if f, ok := obj(e["filter_expr"]); ok {
			out.merge(a.expr(f, sc), Filter)
		}
	case "SUBQUERY":
		a.subquery(e, sc, out)
	case "LAMBDA":
		inner := newScope(sc)
		inner.lambda = map[string]bool{}
		lambdaParams(e["lhs"], inner.lambda)
		a.walk(e["expr"], inner, out)
	default:
		for _, k := range sortedKeys(e) {
			switch k {
			case "class", "type", "alias", "query_location":
				continue
			}
			a.walk(e[k], sc, out)
		}
	}
}

// subquery adds a subquery expression's dependencies: the columns it
// selects by value (for EXISTS, as a filter) and its rows as a filter.
func (a *analyzer) subquery(e map[string]any, sc *scope, out depSet) {
	q, _ := obj(e["subquery"])
	body, _ := obj(q["node"])
	r := a.query(body, sc)
	kind := Value
	if str(e["subquery_type"]) == "EXISTS" || str(e["subquery_type"]) == "NOT_EXISTS" {
		kind = Filter
	}
	for _, c := range r.cols {
		out.merge(c.deps, kind)
	}
	out.merge(r.rows, Filter)
	if child, ok := obj(e["child"]); ok {
		a.walk(child, sc, out)
	}
}

// lambdaParams collects the parameter names of a lambda's left side.
func lambdaParams(v any, into map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, y := range x {
			lambdaParams(y, into)
		}
	case map[string]any:
		if str(x["class"]) == "COLUMN_REF" {
			for _, n := range strs(x["column_names"]) {
				into[lower(n)] = true
			}
			return
		}
		lambdaParams(x["children"], into)
	}
}

// column resolves a column reference in sc and its parents and adds its
// dependencies to out as kind.
func (a *analyzer) column(names []string, off int, sc *scope, out depSet, kind Kind) {
	if len(names) == 0 {
		return
	}
	for s := sc; s != nil; s = s.parent {
		if s.lambda != nil {
			if s.lambda[lower(names[0])] {
				return
			}
			continue
		}
		if deps, ok := a.lookup(names, off, s); ok {
			out.merge(deps, kind)
			return
		}
	}
	// No scope defines it. When the innermost scope reads one node, the
	// reference is to a column that node lacks (dropped or renamed):
	// record it as missing so impact analysis finds the reference.
	for s := sc; s != nil; s = s.parent {
		if s.lambda == nil && len(s.rels) == 1 && s.rels[0].base != "" {
			out.merge(a.inRel(s.rels[0], names[len(names)-1], off), kind)
			return
		}
		if len(s.rels) > 0 {
			break
		}
	}
	a.issuef(off, "column %s is not a column of any relation in scope — its lineage is unknown", strings.Join(names, "."))
}

// lookup resolves names in one scope. ok is false when the scope does not
// define the name, so the caller tries the enclosing scope.
func (a *analyzer) lookup(names []string, off int, s *scope) (depSet, bool) {
	if len(names) >= 3 {
		for _, r := range s.rels {
			if r.table != "" && equalFold(r.table, names[1]) && equalFold(r.schema, names[0]) {
				return a.inRel(r, names[2], off), true
			}
		}
	}
	if len(names) >= 2 {
		for _, r := range s.rels {
			if equalFold(r.alias, names[0]) {
				return a.inRel(r, names[1], off), true
			}
		}
	}
	// An unqualified column, or a struct field access col.field.
	name := names[0]
	if holders, ok := s.using[lower(name)]; ok && len(holders) > 0 {
		out := depSet{}
		for _, r := range holders {
			out.merge(a.inRel(r, name, off), Value)
		}
		return out, true
	}
	var found []*rel
	var unknown []*rel
	for _, r := range s.rels {
		if r.find(name) != nil {
			found = append(found, r)
		} else if !r.exact {
			unknown = append(unknown, r)
		}
	}
	switch {
	case len(found) == 1:
		// Valid SQL is unambiguous, so a relation with unknown columns
		// cannot also have it.
		return a.inRel(found[0], name, off), true
	case len(found) > 1:
		a.issuef(off, "column %s is ambiguous: it is a column of %s — qualify it", name, joinNames(found))
		out := depSet{}
		for _, r := range found {
			out.merge(a.inRel(r, name, off), Value)
		}
		return out, true
	case len(unknown) == 1 && len(found) == 0 && unknown[0].base != "" && len(s.rels) == 1:
		// The only relation in scope: the column can come from no other.
		return a.inRel(unknown[0], name, off), true
	case len(unknown) > 0:
		a.issuef(off, "column %s may come from %s, whose columns are unknown — qualify it or document the columns", name, joinNames(append(found, unknown...)))
		return depSet{}, true
	}
	if deps, ok := s.aliases[lower(name)]; ok {
		return deps, true
	}
	return nil, false
}

// inRel returns the dependencies of column name of r.
func (a *analyzer) inRel(r *rel, name string, off int) depSet {
	if c := r.find(name); c != nil {
		out := depSet{}
		for k, d := range c.deps {
			if d.offset < 0 {
				d.offset = off
			}
			out[k] = d
		}
		return out
	}
	out := depSet{}
	switch {
	case r.base != "":
		if r.exact {
			a.issuef(off, "column %s is not a column of %s", name, r.desc)
		}
		out.add(Dep{Ref: Ref{r.base, name}, Kind: Value, Missing: r.exact, offset: off})
	case r.exact:
		a.issuef(off, "column %s is not a column of %s", name, r.desc)
	default:
		a.issuef(off, "the columns of %s are unknown — the lineage of %s.%s is unknown", r.desc, r.alias, name)
	}
	return out
}

// Helpers to read the generic JSON of the parse tree.

func obj(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok && m != nil
}

func arr(v any) []any {
	a, _ := v.([]any)
	return a
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	var out []string
	for _, x := range arr(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// offsetOf is an expression's query_location, or -1 when unknown.
func offsetOf(m map[string]any) int {
	f, ok := m["query_location"].(float64)
	if !ok || f < 0 || f > 1<<40 {
		return -1
	}
	return int(f)
}

func itoa(i int) string { return strconv.Itoa(i) }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: parse-tree objects have few keys.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

package lineage

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// ephemeralPrefix names the CTE the compiler inlines an ephemeral model
// as: a reference to it is a reference to the ephemeral model.
const ephemeralPrefix = "__elt_eph_"

// analyzer analyses one node's parse tree. Its issues are offsets into
// sql, turned into file positions by the builder.
type analyzer struct {
	b      *builder
	node   *manifest.Node
	sql    string
	issues []offsetIssue
}

type offsetIssue struct {
	offset int
	msg    string
}

func (a *analyzer) issuef(offset int, format string, args ...any) {
	a.issues = append(a.issues, offsetIssue{offset, fmt.Sprintf(format, args...)})
}

// query analyses a query node (SELECT, set operation, recursive CTE) in
// the scope parent and returns its result relation.
func (a *analyzer) query(n map[string]any, parent *scope) *rel {
	sc := newScope(parent)
	if cm, ok := obj(n["cte_map"]); ok {
		for _, e := range arr(cm["map"]) {
			entry, _ := obj(e)
			val, _ := obj(entry["value"])
			q, _ := obj(val["query"])
			body, _ := obj(q["node"])
			if sc.ctes == nil {
				sc.ctes = map[string]*cte{}
			}
			name := str(entry["key"])
			sc.ctes[lower(name)] = &cte{name: name, node: body, aliases: strs(val["aliases"]), def: sc}
		}
	}
	switch str(n["type"]) {
	case "SELECT_NODE":
		return a.selectNode(n, sc)
	case "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE":
		return a.setOperation(n, sc)
	case "CTE_NODE":
		if q, ok := obj(n["child"]); ok {
			return a.query(q, sc)
		}
	}
	a.issuef(offsetOf(n), "a %s query is not supported by lineage — its columns are unknown", str(n["type"]))
	return &rel{rows: depSet{}, desc: "query"}
}

// setOperation analyses UNION, EXCEPT and INTERSECT: output columns take
// the left side's names; UNION merges both sides' lineage position by
// position (by name for UNION BY NAME); EXCEPT and INTERSECT only filter
// the left side's rows with the right side's columns.
func (a *analyzer) setOperation(n map[string]any, sc *scope) *rel {
	var sides []map[string]any
	if l, ok := obj(n["left"]); ok {
		sides = append(sides, l)
	}
	if r, ok := obj(n["right"]); ok {
		sides = append(sides, r)
	}
	for _, c := range arr(n["children"]) {
		if m, ok := obj(c); ok {
			sides = append(sides, m)
		}
	}
	if len(sides) == 0 {
		a.issuef(offsetOf(n), "an empty set operation — its columns are unknown")
		return &rel{rows: depSet{}}
	}
	op := str(n["setop_type"])
	byName := op == "UNION_BY_NAME"
	out := a.query(sides[0], sc)
	out = out.renamed("", nil)
	out.rows = cloneSet(out.rows)
	for i, c := range out.cols {
		out.cols[i] = &rcol{name: c.name, deps: cloneSet(c.deps)}
	}
	for _, side := range sides[1:] {
		r := a.query(side, sc)
		out.rows.merge(r.rows, Value)
		out.exact = out.exact && r.exact
		kind := Value
		if op == "EXCEPT" || op == "INTERSECT" {
			kind = Filter
		}
		for i, c := range r.cols {
			var target *rcol
			if byName {
				target = out.find(c.name)
				if target == nil {
					target = &rcol{name: c.name, deps: depSet{}}
					out.cols = append(out.cols, target)
				}
			} else if i < len(out.cols) {
				target = out.cols[i]
			}
			if target == nil {
				continue
			}
			if kind == Value {
				target.deps.merge(c.deps, Value)
			} else {
				out.rows.merge(c.deps, kind)
			}
		}
	}
	a.modifiers(n, sc, out, nil)
	return out
}

// selectNode analyses one SELECT: FROM, WHERE, the select list, GROUP BY,
// HAVING, QUALIFY and the modifiers.
func (a *analyzer) selectNode(n map[string]any, sc *scope) *rel {
	if from, ok := obj(n["from_table"]); ok {
		a.from(from, sc)
	}
	out := &rel{rows: sc.rows, exact: true, desc: "query"}
	type item struct {
		deps depSet
		agg  bool
	}
	var items []item
	for _, raw := range arr(n["select_list"]) {
		e, ok := obj(raw)
		if !ok {
			continue
		}
		if str(e["class"]) == "STAR" && str(e["alias"]) == "" {
			cols, exact := a.star(e, sc)
			out.exact = out.exact && exact
			for _, c := range cols {
				out.cols = append(out.cols, c)
				items = append(items, item{deps: c.deps})
			}
			continue
		}
		deps := a.expr(e, sc)
		name := str(e["alias"])
		if name == "" && str(e["class"]) == "COLUMN_REF" {
			names := strs(e["column_names"])
			name = names[len(names)-1]
		}
		if name == "" {
			out.unnamed = append(out.unnamed, len(out.cols))
		}
		out.cols = append(out.cols, &rcol{name: name, deps: deps})
		items = append(items, item{deps: deps, agg: a.hasAggregate(e)})
	}
	sc.aliases = map[string]depSet{}
	for _, c := range out.cols {
		if c.name != "" {
			if _, dup := sc.aliases[lower(c.name)]; !dup {
				sc.aliases[lower(c.name)] = c.deps
			}
		}
	}
	if w, ok := obj(n["where_clause"]); ok {
		sc.rows.merge(a.expr(w, sc), Filter)
	}
	groups := arr(n["group_expressions"])
	for _, g := range groups {
		ge, _ := obj(g)
		if pos, ok := positional(ge); ok && pos >= 1 && pos <= len(items) {
			sc.rows.merge(items[pos-1].deps, Group)
			continue
		}
		sc.rows.merge(a.expr(ge, sc), Group)
	}
	if len(groups) == 0 && str(n["aggregate_handling"]) == "FORCE_AGGREGATES" {
		// GROUP BY ALL: every select item without an aggregate is a key.
		for _, it := range items {
			if !it.agg {
				sc.rows.merge(it.deps, Group)
			}
		}
	}
	if h, ok := obj(n["having"]); ok {
		sc.rows.merge(a.expr(h, sc), Filter)
	}
	if q, ok := obj(n["qualify"]); ok {
		sc.rows.merge(a.expr(q, sc), Filter)
	}
	a.modifiers(n, sc, out, func(i int) depSet {
		if i >= 1 && i <= len(items) {
			return items[i-1].deps
		}
		return nil
	})
	return out
}

// modifiers records DISTINCT (ON) as grouping and ORDER BY as a filter
// when a LIMIT or OFFSET picks rows by that order.
func (a *analyzer) modifiers(n map[string]any, sc *scope, out *rel, byPos func(int) depSet) {
	limited := false
	for _, m := range arr(n["modifiers"]) {
		mm, _ := obj(m)
		if str(mm["type"]) == "LIMIT_MODIFIER" || str(mm["type"]) == "LIMIT_PERCENT_MODIFIER" {
			limited = true
		}
	}
	resolveIn := func(e map[string]any) depSet {
		if pos, ok := positional(e); ok && byPos != nil {
			if d := byPos(pos); d != nil {
				return d
			}
		}
		if str(e["class"]) == "COLUMN_REF" && len(sc.rels) == 0 {
			// A set operation's ORDER BY names its output columns.
			names := strs(e["column_names"])
			if c := out.find(names[len(names)-1]); c != nil {
				return c.deps
			}
		}
		return a.expr(e, sc)
	}
	for _, m := range arr(n["modifiers"]) {
		mm, _ := obj(m)
		switch str(mm["type"]) {
		case "DISTINCT_MODIFIER":
			targets := arr(mm["distinct_on_targets"])
			if len(targets) == 0 {
				for _, c := range out.cols {
					out.rows.merge(c.deps, Group)
				}
			}
			for _, t := range targets {
				te, _ := obj(t)
				out.rows.merge(resolveIn(te), Group)
			}
		case "ORDER_MODIFIER":
			if !limited {
				continue
			}
			for _, o := range arr(mm["orders"]) {
				oo, _ := obj(o)
				if e, ok := obj(oo["expression"]); ok {
					out.rows.merge(resolveIn(e), Filter)
				}
			}
		case "LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER":
			for _, k := range []string{"limit", "offset"} {
				if e, ok := obj(mm[k]); ok {
					out.rows.merge(a.expr(e, sc), Filter)
				}
			}
		}
	}
}

// positional returns the 1-based position of a GROUP BY or ORDER BY item
// written as an integer literal.
func positional(e map[string]any) (int, bool) {
	if str(e["class"]) != "CONSTANT" {
		return 0, false
	}
	v, _ := obj(e["value"])
	t, _ := obj(v["type"])
	switch str(t["id"]) {
	case "INTEGER", "BIGINT", "SMALLINT", "TINYINT":
		if f, ok := v["value"].(float64); ok {
			return int(f), true
		}
	}
	return 0, false
}

// star expands `*`, `rel.*` and COLUMNS('regex') over the relations in
// scope. exact is false when a relation's columns are unknown.
func (a *analyzer) star(e map[string]any, sc *scope) (cols []*rcol, exact bool) {
	relName := str(e["relation_name"])
	var re *regexp.Regexp
	if e["columns"] == true {
		inner, _ := obj(e["expr"])
		switch {
		case inner == nil:
		case str(inner["class"]) == "CONSTANT":
			v, _ := obj(inner["value"])
			pat, _ := v["value"].(string)
			r, err := regexp.Compile(pat)
			if err != nil {
				a.issuef(offsetOf(e), "COLUMNS(%q) is not a pattern lineage can read — its columns are unknown", pat)
				return nil, false
			}
			re = r
		default:
			a.issuef(offsetOf(e), "COLUMNS(...) with a lambda or list is not supported by lineage — its columns are unknown")
			return nil, false
		}
	}
	exclude := map[string]bool{}
	for _, x := range arr(e["exclude_list"]) {
		if s, ok := x.(string); ok {
			exclude[lower(s)] = true
		} else if m, ok := obj(x); ok {
			names := strs(m["column_names"])
			if len(names) > 0 {
				exclude[lower(names[len(names)-1])] = true
			}
		}
	}
	for _, x := range arr(e["qualified_exclude_list"]) {
		if m, ok := obj(x); ok {
			names := strs(m["column_names"])
			if len(names) > 0 {
				exclude[lower(names[len(names)-1])] = true
			}
		}
	}
	replace := map[string]map[string]any{}
	for _, x := range arr(e["replace_list"]) {
		m, _ := obj(x)
		v, _ := obj(m["value"])
		replace[lower(str(m["key"]))] = v
	}
	rename := map[string]string{}
	for _, x := range arr(e["rename_list"]) {
		m, _ := obj(x)
		k := str(m["key"])
		if km, ok := obj(m["key"]); ok {
			names := strs(km["column_names"])
			if len(names) > 0 {
				k = names[len(names)-1]
			}
		}
		rename[lower(k)] = str(m["value"])
	}
	exact = true
	matched := false
	seenUsing := map[string]bool{}
	for _, r := range sc.rels {
		if relName != "" && !equalFold(r.alias, relName) {
			continue
		}
		matched = true
		if !r.exact {
			exact = false
			a.issuef(offsetOf(e), "`*` over %s whose columns are unknown — build it or list its columns in YAML", r.desc)
			continue
		}
		for _, c := range r.cols {
			key := lower(c.name)
			if exclude[key] || (re != nil && !re.MatchString(c.name)) {
				continue
			}
			deps := c.deps
			if others, ok := sc.using[key]; ok && relName == "" {
				if seenUsing[key] {
					continue
				}
				seenUsing[key] = true
				deps = depSet{}
				for _, o := range others {
					if oc := o.find(c.name); oc != nil {
						deps.merge(oc.deps, Value)
					}
				}
			}
			name := c.name
			if x, ok := replace[key]; ok {
				deps = a.expr(x, sc)
			}
			if n, ok := rename[key]; ok {
				name = n
			}
			cols = append(cols, &rcol{name: name, deps: deps})
		}
	}
	if relName != "" && !matched {
		a.issuef(offsetOf(e), "%s.* names no relation of the FROM clause", relName)
		return nil, false
	}
	return cols, exact
}

// hasAggregate reports whether e calls an aggregate function outside a
// window (so GROUP BY ALL does not group by it).
func (a *analyzer) hasAggregate(e any) bool {
	switch v := e.(type) {
	case map[string]any:
		switch str(v["class"]) {
		case "WINDOW":
			return false
		case "SUBQUERY":
			return false
		case "FUNCTION", "AGGREGATE":
			if a.b.aggregates[lower(str(v["function_name"]))] {
				return true
			}
		}
		for _, x := range v {
			if a.hasAggregate(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if a.hasAggregate(x) {
				return true
			}
		}
	}
	return false
}

// tableName is schema.table of a BASE_TABLE, for messages.
func tableName(t map[string]any) string {
	if s := str(t["schema_name"]); s != "" {
		return s + "." + str(t["table_name"])
	}
	return str(t["table_name"])
}

// joinNames joins relation descriptions for a message.
func joinNames(rels []*rel) string {
	names := make([]string, len(rels))
	for i, r := range rels {
		names[i] = r.desc
	}
	return strings.Join(names, ", ")
}

package lineage

import (
	"sort"
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// dkey identifies a dependency in a depSet: the upstream column (name
// lower-cased) and the kind of use.
type dkey struct {
	node manifest.NodeID
	col  string
	kind Kind
}

// depSet is a set of dependencies; for each it keeps the first offset in
// the SQL where it was seen.
type depSet map[dkey]Dep

// add puts d into s, keeping the smaller known offset.
func (s depSet) add(d Dep) {
	k := dkey{d.Node, lower(d.Column), d.Kind}
	if old, ok := s[k]; ok {
		if old.offset >= 0 && (d.offset < 0 || old.offset <= d.offset) {
			d.offset = old.offset
		}
		d.Missing = d.Missing || old.Missing
		d.Column = old.Column
	}
	s[k] = d
}

// merge adds every dependency of src to s. Used in a Value position, src
// keeps its kinds; used in any other position, every dependency takes the
// kind of that position (a value used only to filter rows filters them).
func (s depSet) merge(src depSet, as Kind) {
	for _, d := range src {
		if as != Value {
			d.Kind = as
		}
		s.add(d)
	}
}

// sorted returns the dependencies sorted by kind (Value first), node and
// column.
func (s depSet) sorted() []Dep {
	out := make([]Dep, 0, len(s))
	for _, d := range s {
		out = append(out, d)
	}
	rank := map[Kind]int{Value: 0, Join: 1, Filter: 2, Group: 3, Window: 4}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return rank[a.Kind] < rank[b.Kind]
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return lower(a.Column) < lower(b.Column)
	})
	return out
}

// rcol is one column of a relation in scope, with what it depends on.
type rcol struct {
	name string
	deps depSet
}

// rel is a relation in a FROM clause, or the result of a query.
type rel struct {
	alias  string // the name its columns are qualified with
	schema string // for schema.table.column references to a base table
	table  string
	cols   []*rcol
	// exact says cols is the relation's complete column list.
	exact bool
	// base is the node a base relation reads: a column it does not list
	// can still be attributed to it when the reference names it.
	base manifest.NodeID
	// rows are the dependencies that decide the relation's rows.
	rows depSet
	// desc names the relation in messages.
	desc string
	// unnamed holds the select-list positions (0-based) whose output name
	// DuckDB derives from the expression text.
	unnamed []int
}

// find returns the column called name (case-insensitively), or nil.
func (r *rel) find(name string) *rcol {
	for _, c := range r.cols {
		if equalFold(c.name, name) {
			return c
		}
	}
	return nil
}

// renamed returns a copy of r under alias with its first columns renamed
// to names (a column alias list such as `as t(a, b)`).
func (r *rel) renamed(alias string, names []string) *rel {
	out := *r
	out.alias = alias
	out.cols = make([]*rcol, len(r.cols))
	copy(out.cols, r.cols)
	for i, n := range names {
		if i < len(out.cols) {
			out.cols[i] = &rcol{name: n, deps: out.cols[i].deps}
		} else if !r.exact {
			out.cols = append(out.cols, &rcol{name: n, deps: depSet{}})
		}
	}
	return &out
}

// nodeRel is the relation of a base node with its known columns: every
// column depends by value on itself.
func nodeRel(id manifest.NodeID, cols []string, exact bool, alias string) *rel {
	r := &rel{alias: alias, exact: exact, base: id, rows: depSet{}, desc: string(id)}
	for _, c := range cols {
		d := depSet{}
		d.add(Dep{Ref: Ref{id, c}, Kind: Value, offset: -1})
		r.cols = append(r.cols, &rcol{name: c, deps: d})
	}
	return r
}

// cte is a common table expression visible in a scope.
type cte struct {
	name    string
	node    map[string]any
	aliases []string
	def     *scope // the scope its body is analysed in
	result  *rel   // memoised analysis
	busy    bool   // being analysed: a reference now is recursive
}

// scope is one SELECT's name space: its FROM relations, the columns
// merged by USING, its select-list aliases, its CTEs, and the enclosing
// scope for correlated references.
type scope struct {
	parent  *scope
	rels    []*rel
	using   map[string][]*rel
	aliases map[string]depSet // select-list aliases, once known
	ctes    map[string]*cte
	lambda  map[string]bool // lambda parameters
	rows    depSet
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, using: map[string][]*rel{}, rows: depSet{}}
}

// findCTE looks name up in s and its parents.
func (s *scope) findCTE(name string) *cte {
	for x := s; x != nil; x = x.parent {
		if c := x.ctes[lower(name)]; c != nil {
			return c
		}
	}
	return nil
}

func lower(s string) string { return strings.ToLower(s) }

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

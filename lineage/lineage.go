// Package lineage computes column-level lineage for a compiled project: for
// every output column of every model, the upstream columns its value is
// derived from, and separately the columns that only filter, join, group or
// window its rows. It reads each model's compiled SQL through DuckDB's own
// parser (json_serialize_sql), resolves columns against the columns of the
// relations it reads (the manifest, the database catalog, DESCRIBE of source
// readers and seeds) and asks DuckDB's binder (DESCRIBE of the query) only
// for the names of unaliased expressions. A construct it cannot resolve is
// reported as an Issue of the node, never guessed.
package lineage

import (
	"sort"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
)

// Kind says how a column is used by the column or rows that depend on it.
type Kind string

// The kinds of dependency. Only Value lineage carries data into a column;
// the others decide which rows exist or how they are grouped.
const (
	Value  Kind = "value"  // the column's value flows into the output value
	Filter Kind = "filter" // WHERE, HAVING, QUALIFY, aggregate FILTER, ORDER BY with LIMIT
	Join   Kind = "join"   // a JOIN condition or USING column
	Group  Kind = "group"  // GROUP BY keys, DISTINCT ON
	Window Kind = "window" // a window's PARTITION BY or ORDER BY
)

// Ref names one column of one node.
type Ref struct {
	Node   manifest.NodeID `json:"node"`
	Column string          `json:"column"`
}

// String renders r as node.column, e.g. model.stg_logins.user_id.
func (r Ref) String() string { return string(r.Node) + "." + r.Column }

// Dep is one dependency of a column (or of a node's rows) on an upstream
// column.
type Dep struct {
	Ref
	Kind Kind `json:"kind"`
	// Line is the line of the node's file where the upstream column is
	// first used for this dependency; 0 when unknown.
	Line int `json:"line,omitempty"`
	// Missing is set when the upstream column does not exist (any more) in
	// the upstream node's known columns.
	Missing bool `json:"missing,omitempty"`
	offset  int
}

// Column is one output column of a node with its dependencies.
type Column struct {
	Name string `json:"name"`
	// Type is DuckDB's type of the column when the database knows it.
	Type string `json:"type,omitempty"`
	// Deps are the column's own dependencies, Value first, sorted; a
	// column that depends on no column (a constant, count(*)) has none.
	Deps []Dep `json:"deps,omitempty"`
}

// Node is the lineage of one model, seed or source.
type Node struct {
	ID manifest.NodeID `json:"id"`
	// Columns are the node's output columns in order. For a model they
	// come from its SQL; for a seed or source from the database or its
	// YAML.
	Columns []Column `json:"columns"`
	// Exact is false when the column list may be incomplete (a `*` over
	// a relation whose columns are unknown, a source documented only in
	// YAML).
	Exact bool `json:"exact"`
	// Rows are the dependencies that decide the node's rows rather than a
	// column's value: filters, joins and groupings, each applying to every
	// column.
	Rows []Dep `json:"rows,omitempty"`
	// Issues are the constructs that could not be resolved.
	Issues []Issue `json:"issues,omitempty"`
}

// Issue is a part of a node's SQL whose lineage could not be resolved.
type Issue struct {
	Pos     diag.Pos `json:"pos"`
	Message string   `json:"message"`
}

// Column returns the column called name (case-insensitively), or nil.
func (n *Node) Column(name string) *Column {
	for i := range n.Columns {
		if equalFold(n.Columns[i].Name, name) {
			return &n.Columns[i]
		}
	}
	return nil
}

// Use is a dependency seen from the upstream side: Ref (a column, or the
// rows of a node when Column is empty) uses the upstream column as Kind.
type Use struct {
	Ref
	Kind    Kind `json:"kind"`
	Line    int  `json:"line,omitempty"`
	Missing bool `json:"missing,omitempty"`
}

// Lineage is the column lineage of a whole project.
type Lineage struct {
	Manifest *manifest.Manifest        `json:"-"`
	Nodes    map[manifest.NodeID]*Node `json:"nodes"`
	// users maps an upstream column (lower-cased name) to what uses it.
	users map[Ref][]Use
}

// Node returns the lineage of id, or nil.
func (l *Lineage) Node(id manifest.NodeID) *Node { return l.Nodes[id] }

// index builds users from every node's deps, sorted for stable output.
func (l *Lineage) index() {
	l.users = map[Ref][]Use{}
	for _, id := range sortedIDs(l.Nodes) {
		n := l.Nodes[id]
		for _, c := range n.Columns {
			for _, d := range c.Deps {
				k := Ref{d.Node, lower(d.Column)}
				l.users[k] = append(l.users[k], Use{Ref{id, c.Name}, d.Kind, d.Line, d.Missing})
			}
		}
		for _, d := range n.Rows {
			k := Ref{d.Node, lower(d.Column)}
			l.users[k] = append(l.users[k], Use{Ref{id, ""}, d.Kind, d.Line, d.Missing})
		}
	}
}

// Users returns what uses the column r directly: columns of downstream
// nodes (by value or otherwise) and the rows of downstream nodes (Column
// empty). The result is sorted by node, column and kind.
func (l *Lineage) Users(r Ref) []Use {
	if l.users == nil {
		l.index()
	}
	return l.users[Ref{r.Node, lower(r.Column)}]
}

func sortedIDs[V any](m map[manifest.NodeID]V) []manifest.NodeID {
	ids := make([]manifest.NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

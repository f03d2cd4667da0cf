package lineage

import (
	"fmt"
	"sort"

	"github.com/elt-dev/elt/manifest"
)

// Direction says which way a lineage query walks.
type Direction int

// The directions of a lineage query.
const (
	Both Direction = iota
	Upstream
	Downstream
)

// Graph is the answer to a lineage query: the nodes (models, seeds,
// sources, or their columns) reached from Root and the edges between
// them, each edge pointing from upstream to downstream.
type Graph struct {
	Root string `json:"root"`
	// Node is the node of the root column in a column graph.
	Node  string   `json:"node,omitempty"`
	Nodes []string `json:"nodes"`
	Edges []Edge   `json:"edges"`
	// Issues are the unresolved constructs of the nodes in the graph.
	Issues []string `json:"issues,omitempty"`
}

// Edge is one dependency: To depends on From. Kind is empty for model
// lineage; for column lineage it is how To uses From. A To that ends in
// ".*rows" stands for the rows of a node rather than one column.
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  Kind   `json:"kind,omitempty"`
	Depth int    `json:"depth"`
	Line  int    `json:"-"`
	// At is file:line of To's SQL where From is used, when known.
	At string `json:"at,omitempty"`
}

// at returns path:line of node id's file, or "" when unknown.
func (l *Lineage) at(id manifest.NodeID, line int) string {
	if line <= 0 || l.Manifest == nil || l.Manifest.Nodes[id] == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", l.Manifest.Nodes[id].Path, line)
}

// RowsSuffix marks the rows of a node in a column graph.
const RowsSuffix = ".*rows"

// NodeGraph returns the model lineage of id from the manifest: its
// ancestors (Upstream), descendants (Downstream) or both, up to depth
// levels (depth < 0: no limit). Tests are left out.
func NodeGraph(m *manifest.Manifest, id manifest.NodeID, dir Direction, depth int) *Graph {
	if m.Children == nil {
		m.BuildChildren()
	}
	g := &Graph{Root: string(id)}
	seen := map[string]bool{string(id): true}
	edges := map[Edge]bool{}
	walk := func(up bool) {
		type item struct {
			id manifest.NodeID
			d  int
		}
		queue := []item{{id, 0}}
		visited := map[manifest.NodeID]bool{id: true}
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			if depth >= 0 && it.d >= depth {
				continue
			}
			next := m.Children[it.id]
			if up {
				if n := m.Nodes[it.id]; n != nil {
					next = n.DependsOn
				}
			}
			for _, nb := range next {
				if nb.Type() == manifest.Test {
					continue
				}
				e := Edge{From: string(nb), To: string(it.id), Depth: it.d + 1}
				if !up {
					e = Edge{From: string(it.id), To: string(nb), Depth: it.d + 1}
				}
				edges[e] = true
				seen[string(nb)] = true
				if !visited[nb] {
					visited[nb] = true
					queue = append(queue, item{nb, it.d + 1})
				}
			}
		}
	}
	if dir != Downstream {
		walk(true)
	}
	if dir != Upstream {
		walk(false)
	}
	g.finish(seen, edges)
	return g
}

// ColumnGraph returns the column lineage of r. Upstream it follows value
// lineage to the columns r is derived from, listing at each column the
// columns that filter, join, group or window it, and the dependencies of
// the rows of r's own node. Downstream it lists every column and node
// that uses r (by value or otherwise) and follows value lineage from
// there: what breaks or changes if r is dropped or changed.
func (l *Lineage) ColumnGraph(r Ref, dir Direction, depth int) *Graph {
	if l.users == nil {
		l.index()
	}
	g := &Graph{Root: r.String(), Node: string(r.Node)}
	seen := map[string]bool{r.String(): true}
	edges := map[Edge]bool{}
	issues := map[string]bool{}
	noteIssues := func(id manifest.NodeID) {
		if n := l.Nodes[id]; n != nil {
			for _, is := range n.Issues {
				issues[is.Pos.String()+": "+is.Message] = true
			}
		}
	}
	noteIssues(r.Node)
	if dir != Downstream {
		if n := l.Nodes[r.Node]; n != nil {
			for _, d := range n.Rows {
				e := Edge{From: d.Ref.String(), To: string(r.Node) + RowsSuffix, Kind: d.Kind, Depth: 1, Line: d.Line, At: l.at(r.Node, d.Line)}
				edges[e] = true
				seen[e.From], seen[e.To] = true, true
			}
		}
		visited := map[Ref]bool{}
		var up func(c Ref, d int)
		up = func(c Ref, d int) {
			if depth >= 0 && d >= depth || visited[c] {
				return
			}
			visited[c] = true
			n := l.Nodes[c.Node]
			if n == nil {
				return
			}
			noteIssues(c.Node)
			col := n.Column(c.Column)
			if col == nil {
				return
			}
			for _, dep := range col.Deps {
				e := Edge{From: dep.Ref.String(), To: c.String(), Kind: dep.Kind, Depth: d + 1, Line: dep.Line, At: l.at(c.Node, dep.Line)}
				edges[e] = true
				seen[e.From] = true
				if dep.Kind == Value {
					up(dep.Ref, d+1)
				}
			}
		}
		up(r, 0)
	}
	if dir != Upstream {
		visited := map[Ref]bool{}
		var down func(c Ref, d int)
		down = func(c Ref, d int) {
			if depth >= 0 && d >= depth || visited[c] {
				return
			}
			visited[c] = true
			for _, u := range l.Users(c) {
				to := u.Ref.String()
				if u.Column == "" {
					to = string(u.Node) + RowsSuffix
				}
				e := Edge{From: c.String(), To: to, Kind: u.Kind, Depth: d + 1, Line: u.Line, At: l.at(u.Node, u.Line)}
				edges[e] = true
				seen[to] = true
				noteIssues(u.Node)
				if u.Kind == Value && u.Column != "" {
					down(u.Ref, d+1)
				}
			}
		}
		down(r, 0)
	}
	g.finish(seen, edges)
	for is := range issues {
		g.Issues = append(g.Issues, is)
	}
	sort.Strings(g.Issues)
	return g
}

// finish fills g's sorted nodes and edges.
func (g *Graph) finish(seen map[string]bool, edges map[Edge]bool) {
	for n := range seen {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Strings(g.Nodes)
	for e := range edges {
		g.Edges = append(g.Edges, e)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Kind < b.Kind
	})
}

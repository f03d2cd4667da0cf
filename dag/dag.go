// Package dag is a directed acyclic graph of string ids: a stable
// topological order (ties broken by id), cycle paths, up- and downstream
// sets, induced subgraphs, and a parallel Walk that skips the descendants
// of a failure. It imports only the standard library.
//
// Internally every node is a dense int index into a names slice, so graph
// algorithms work on int slices and never hash strings in their inner loops.
// A Graph is not safe for concurrent mutation; concurrent reads are safe
// once the graph is no longer changed.
package dag

import (
	"slices"
	"sync"
)

// Graph is a directed graph whose nodes are strings. An edge from → to means
// from must be built before to (to depends on from). Edges are deduplicated;
// a self edge is kept and makes the graph cyclic.
type Graph struct {
	index    map[string]int
	names    []string
	parents  [][]int32 // parents[i]: direct dependencies of node i, insertion order
	children [][]int32 // children[i]: direct dependants of node i, insertion order
	edges    map[uint64]struct{}

	// rank[i] is the position of names[i] in sorted order, and sorted the
	// node indexes in id order; computed lazily by ranks() under mu and
	// dropped on mutation.
	mu     sync.Mutex
	rank   []int32
	sorted []int32
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{index: map[string]int{}, edges: map[uint64]struct{}{}}
}

// AddNode adds id to the graph; adding an existing id does nothing.
func (g *Graph) AddNode(id string) { g.node(id) }

func (g *Graph) node(id string) int {
	if i, ok := g.index[id]; ok {
		return i
	}
	i := len(g.names)
	g.index[id] = i
	g.names = append(g.names, id)
	g.parents = append(g.parents, nil)
	g.children = append(g.children, nil)
	g.rank, g.sorted = nil, nil
	return i
}

// AddEdge records that from must be built before to (to depends on from).
// Missing nodes are added. Adding an edge twice does nothing.
func (g *Graph) AddEdge(from, to string) {
	f, t := g.node(from), g.node(to)
	key := uint64(f)<<32 | uint64(t)
	if _, ok := g.edges[key]; ok {
		return
	}
	g.edges[key] = struct{}{}
	g.parents[t] = append(g.parents[t], int32(f))
	g.children[f] = append(g.children[f], int32(t))
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.names) }

// Has reports whether id is a node of g.
func (g *Graph) Has(id string) bool {
	_, ok := g.index[id]
	return ok
}

// ranks computes, once per version of the graph, the sorted order of ids.
func (g *Graph) ranks() ([]int32, []int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rank == nil {
		es := make([]entry, len(g.names))
		for i, name := range g.names {
			es[i] = entry{name, int32(i)}
		}
		sortEntries(es)
		sorted := make([]int32, len(es))
		rank := make([]int32, len(es))
		for r, e := range es {
			sorted[r] = e.i
			rank[e.i] = int32(r)
		}
		g.rank, g.sorted = rank, sorted
	}
	return g.rank, g.sorted
}

// Nodes returns every id, sorted.
func (g *Graph) Nodes() []string {
	_, sorted := g.ranks()
	out := make([]string, len(sorted))
	for r, i := range sorted {
		out[r] = g.names[i]
	}
	return out
}

// Parents returns the direct dependencies of id, sorted; nil for an unknown id.
func (g *Graph) Parents(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.namesSorted(g.parents[i])
}

// Children returns the direct dependants of id, sorted; nil for an unknown id.
func (g *Graph) Children(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.namesSorted(g.children[i])
}

func (g *Graph) namesSorted(idx []int32) []string {
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = g.names[i]
	}
	slices.Sort(out)
	return out
}

// Ancestors returns every node id transitively depends on, at most depth
// edges away (depth < 0: unlimited; depth 0: none), sorted, without id.
func (g *Graph) Ancestors(id string, depth int) []string {
	return g.reach(id, depth, g.parents)
}

// Descendants returns every node that transitively depends on id, at most
// depth edges away (depth < 0: unlimited; depth 0: none), sorted, without id.
func (g *Graph) Descendants(id string, depth int) []string {
	return g.reach(id, depth, g.children)
}

// reach runs a breadth-first search from id along adj, so each node is
// reached at its shortest distance and the depth limit is exact.
func (g *Graph) reach(id string, depth int, adj [][]int32) []string {
	start, ok := g.index[id]
	if !ok || depth == 0 {
		return nil
	}
	seen := map[int32]bool{int32(start): true}
	frontier := []int32{int32(start)}
	var found []int32
	for d := 0; len(frontier) > 0 && (depth < 0 || d < depth); d++ {
		var next []int32
		for _, n := range frontier {
			for _, m := range adj[n] {
				if !seen[m] {
					seen[m] = true
					next = append(next, m)
				}
			}
		}
		found = append(found, next...)
		frontier = next
	}
	return g.namesSorted(found)
}

// Subgraph returns the subgraph induced by the ids for which keep is true:
// those nodes of g and every edge of g between two of them. Ids in keep that
// are not nodes of g are ignored.
func (g *Graph) Subgraph(keep map[string]bool) *Graph {
	s := New()
	for _, name := range g.names {
		if keep[name] {
			s.AddNode(name)
		}
	}
	for i, name := range g.names {
		if !keep[name] {
			continue
		}
		for _, c := range g.children[i] {
			if keep[g.names[c]] {
				s.AddEdge(name, g.names[c])
			}
		}
	}
	return s
}

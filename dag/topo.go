package dag

import "strings"

// CycleError reports a dependency cycle. Path starts and ends at the same
// node, and each step follows an edge: in "a -> b -> a", a is built before
// b and b before a. Path starts at the smallest id on the cycle, so the
// same graph always reports the same path.
type CycleError struct{ Path []string }

// Error renders the cycle as "cycle: a -> b -> a".
func (e *CycleError) Error() string { return "cycle: " + strings.Join(e.Path, " -> ") }

// TopoSort returns every node such that each comes after all its parents.
// Among nodes that are ready at the same time the smallest id comes first,
// so the order is a pure function of the graph. A cyclic graph returns a
// *CycleError and no order.
func (g *Graph) TopoSort() ([]string, error) {
	order, cyc := g.topo()
	if cyc != nil {
		return nil, cyc
	}
	out := make([]string, len(order))
	for k, i := range order {
		out[k] = g.names[i]
	}
	return out, nil
}

// topo is Kahn's algorithm with a min-heap of ranks. It returns the node
// indexes in order, or the canonical cycle.
func (g *Graph) topo() ([]int32, *CycleError) {
	rank, sorted := g.ranks()
	n := len(g.names)
	indeg := make([]int32, n)
	for i := range n {
		indeg[i] = int32(len(g.parents[i]))
	}
	h := rankHeap{}
	for _, i := range sorted { // ascending ranks form a valid heap already
		if indeg[i] == 0 {
			h = append(h, rank[i])
		}
	}
	order := make([]int32, 0, n)
	for len(h) > 0 {
		i := sorted[h.pop()]
		order = append(order, i)
		for _, c := range g.children[i] {
			if indeg[c]--; indeg[c] == 0 {
				h.push(rank[c])
			}
		}
	}
	if len(order) == n {
		return order, nil
	}
	return nil, g.cycle(indeg)
}

// cycle finds a cycle among the nodes Kahn's algorithm could not order
// (indeg > 0). Every such node has a parent that is also unordered, so
// walking up from the smallest unordered id, always to the smallest
// unordered parent, must revisit a node: that loop is the cycle.
func (g *Graph) cycle(indeg []int32) *CycleError {
	rank, sorted := g.ranks()
	start := int32(-1)
	for _, i := range sorted {
		if indeg[i] > 0 {
			start = i
			break
		}
	}
	if start < 0 {
		return &CycleError{}
	}
	pos := map[int32]int{}
	var up []int32 // up[k+1] is a parent of up[k]
	for cur := start; ; {
		if p, ok := pos[cur]; ok {
			up = up[p:]
			break
		}
		pos[cur] = len(up)
		up = append(up, cur)
		next := int32(-1)
		for _, p := range g.parents[cur] {
			if indeg[p] > 0 && (next < 0 || rank[p] < rank[next]) {
				next = p
			}
		}
		cur = next
	}
	// up lists the cycle against edge direction; reverse it and rotate so
	// the smallest id comes first.
	k := len(up)
	loop := make([]int32, k)
	for j := range up {
		loop[j] = up[k-1-j]
	}
	minAt := 0
	for j := range loop {
		if rank[loop[j]] < rank[loop[minAt]] {
			minAt = j
		}
	}
	path := make([]string, 0, k+1)
	for j := range k {
		path = append(path, g.names[loop[(minAt+j)%k]])
	}
	path = append(path, path[0])
	return &CycleError{Path: path}
}

// rankHeap is a binary min-heap of node ranks, written out rather than
// through container/heap to avoid interface calls in the hot loop.
type rankHeap []int32

func (h *rankHeap) push(r int32) {
	s := append(*h, r)
	j := len(s) - 1
	for j > 0 {
		p := (j - 1) / 2
		if s[p] <= s[j] {
			break
		}
		s[p], s[j] = s[j], s[p]
		j = p
	}
	*h = s
}

func (h *rankHeap) pop() int32 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	j := 0
	for {
		l := 2*j + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r] < s[l] {
			m = r
		}
		if s[j] <= s[m] {
			break
		}
		s[j], s[m] = s[m], s[j]
		j = m
	}
	*h = s
	return top
}

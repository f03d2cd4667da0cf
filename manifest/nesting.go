package manifest

import (
	"fmt"

	"github.com/elt-dev/elt/diag"
)

// ViewExpansionWarnAt is the number of nested view references above which
// CheckViewNesting reports a model: DuckDB then needs about a tenth of a
// second to bind it (measured on the 2-core benchmark machine), and every
// layer of views joining such views multiplies that.
const ViewExpansionWarnAt = 1000

// expansionCap is where the counts stop: far past any nesting DuckDB could
// bind, and short of float64's infinity.
const expansionCap = 1e15

// How DuckDB treats a reference to a node when it binds a query.
const (
	readStored = iota // a table, seed, source, snapshot, stream: read as stored
	boundView         // a view: bound through its definition at every reference
	fileView          // an external model: a view over its files, reading no model
	inlined           // an ephemeral model: inlined once per query, as a CTE
)

func bindKind(n *Node) int {
	if n == nil || n.ResourceType != Model {
		return readStored
	}
	switch n.Config.Materialized {
	case "view":
		return boundView
	case "external":
		return fileView
	case "ephemeral":
		return inlined
	}
	return readStored
}

// viewRefs appends to refs the views (and external models) n's query
// references: its own references, and those of every ephemeral model it
// reaches through ephemeral models, each ephemeral once (the compiler
// inlines each once, as a CTE, and DuckDB binds a CTE once).
func viewRefs(m *Manifest, n *Node, refs []NodeID) []NodeID {
	var seen map[NodeID]bool
	pending := []*Node{n}
	for len(pending) > 0 {
		o := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		for _, p := range o.DependsOn {
			pn := m.Nodes[p]
			switch bindKind(pn) {
			case boundView, fileView:
				refs = append(refs, p)
			case inlined:
				if seen == nil {
					seen = map[NodeID]bool{}
				}
				if !seen[p] {
					seen[p] = true
					pending = append(pending, pn)
				}
			}
		}
	}
	return refs
}

// viewExpansions returns every model of m that elt builds with a query
// (every materialization but ephemeral), and beside each how many view
// references DuckDB expands when it binds that query: one for each view or
// external model it references, directly or through ephemeral models,
// plus, for a view, the count of that view. A chain of views grows by one
// a layer; views joining several views of the layer below multiply, which
// is why binding them can take DuckDB minutes. Counts stop at 1e15.
//
// The models get dense indices, views first, so that the walk touches
// slices, not maps. Its cost is reading every node once and each
// dependency's kind: 0.2 s at 100,000 views, most of it waiting for memory
// (two goroutines over halves of the nodes were no faster).
func viewExpansions(m *Manifest) ([]NodeID, []float64) {
	var ids, others []NodeID
	var nodes, otherNodes []*Node
	index := map[NodeID]int32{}
	for id, n := range m.Nodes {
		switch k := bindKind(n); {
		case k == boundView:
			index[id] = int32(len(ids))
			ids = append(ids, id)
			nodes = append(nodes, n)
		case n.ResourceType == Model && k != inlined:
			others = append(others, id)
			otherNodes = append(otherNodes, n)
		}
	}
	views := len(ids)
	ids, nodes = append(ids, others...), append(nodes, otherNodes...)
	// Model i references the views list[first[i]:first[i+1]] and external
	// models files[i] times.
	first := make([]int32, len(ids)+1)
	files := make([]float64, len(ids))
	var list []int32
	var refs []NodeID
	for i, n := range nodes {
		refs = viewRefs(m, n, refs[:0])
		for _, r := range refs {
			if j, ok := index[r]; ok {
				list = append(list, j)
			} else {
				files[i]++
			}
		}
		first[i+1] = int32(len(list))
	}
	const (
		unseen = iota
		open   // on the stack: a parent still open is a cycle, the compiler's error, counted as nothing
		done
	)
	state := make([]uint8, views)
	counts := make([]float64, len(ids))
	count := func(i int32) float64 {
		total := files[i]
		for _, j := range list[first[i]:first[i+1]] {
			if state[j] == done {
				total += 1 + counts[j]
			} else {
				total++
			}
		}
		return min(total, expansionCap)
	}
	// Views in dependency order; an explicit stack, as a chain of 100,000
	// views must not recurse as deep.
	type frame struct{ view, next int32 }
	var stack []frame
	for root := range int32(views) {
		if state[root] != unseen {
			continue
		}
		state[root] = open
		stack = append(stack[:0], frame{view: root})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if ps := list[first[top.view]:first[top.view+1]]; int(top.next) < len(ps) {
				p := ps[top.next]
				top.next++
				if state[p] == unseen {
					state[p] = open
					stack = append(stack, frame{view: p})
				}
				continue
			}
			counts[top.view] = count(top.view)
			state[top.view] = done
			stack = stack[:len(stack)-1]
		}
	}
	for i := views; i < len(ids); i++ {
		counts[i] = count(int32(i))
	}
	return ids, counts
}

// CheckViewNesting returns a warning when models of m expand more than
// ViewExpansionWarnAt nested view references, positioned at the worst of
// them, or nothing.
func CheckViewNesting(m *Manifest) diag.List {
	var worst NodeID
	var worstCount float64
	over := 0
	ids, counts := viewExpansions(m)
	for i, id := range ids {
		c := counts[i]
		if c <= ViewExpansionWarnAt {
			continue
		}
		over++
		if c > worstCount || (c == worstCount && id < worst) {
			worst, worstCount = id, c
		}
	}
	if over == 0 {
		return nil
	}
	n := m.Nodes[worst]
	kind := n.Config.Materialized + " model " + n.Name
	if n.Config.Materialized == "view" || n.Config.Materialized == "table" {
		kind = n.Config.Materialized + " " + n.Name
	}
	others := ""
	if over > 1 {
		others = fmt.Sprintf(" (and %d more models above %s)", over-1, diag.Count(ViewExpansionWarnAt))
	}
	var l diag.List
	l.Warnf(n.Pos, "%s expands %s nested view references when DuckDB binds it%s: DuckDB binds a view "+
		"through every view under it, so views joining views multiply the time to create and to query each layer — "+
		"materialize some of the views it builds on as tables", kind, expansionText(worstCount), others)
	return l
}

// expansionText renders a count, or "more than 10^15" at the cap.
func expansionText(f float64) string {
	if f >= expansionCap {
		return "more than 10^15"
	}
	return diag.Count(int64(f))
}

package manifest

import (
	"fmt"
	"strconv"

	"github.com/elt-dev/elt/diag"
)

// ViewExpansionWarnAt is the number of nested view references above which
// a view is reported by CheckViewNesting: DuckDB then needs about a tenth
// of a second to bind it (measured on the 2-core benchmark machine), and
// every layer of views joining such views multiplies that.
const ViewExpansionWarnAt = 1000

// expands reports whether DuckDB expands n into the query of every model
// that refs it: a view is bound through its definition, an ephemeral model
// is inlined as a CTE. Everything else is read as stored.
func expands(n *Node) bool {
	return n != nil && n.ResourceType == Model && (n.Config.Materialized == "view" || n.Config.Materialized == "ephemeral")
}

// ViewExpansions returns, for every view and ephemeral model of m, how many
// view and ephemeral references DuckDB expands when it binds the model: one
// for each such model it refs, plus that model's own expansion. A chain of
// views grows by one a layer; views joining several views of the layer
// below multiply, which is why binding them can take DuckDB minutes. The
// counts are float64 so that they cannot overflow (3^200 fits).
func ViewExpansions(m *Manifest) map[NodeID]float64 {
	ids, exp := viewExpansions(m)
	out := make(map[NodeID]float64, len(ids))
	for i, id := range ids {
		out[id] = exp[i]
	}
	return out
}

// viewExpansions is ViewExpansions as two parallel slices.
func viewExpansions(m *Manifest) ([]NodeID, []float64) {
	// Dense indices over the expanding models, so the walk below touches
	// slices instead of maps (100,000 views: a map per step cost 110 ms).
	var ids []NodeID
	var nodes []*Node
	index := map[NodeID]int32{}
	for id, n := range m.Nodes {
		if expands(n) {
			index[id] = int32(len(ids))
			ids = append(ids, id)
			nodes = append(nodes, n)
		}
	}
	// parents of model i: list[first[i]:first[i+1]], in one allocation.
	first := make([]int32, len(ids)+1)
	var list []int32
	for i, n := range nodes {
		for _, p := range n.DependsOn {
			if j, ok := index[p]; ok {
				list = append(list, j)
			}
		}
		first[i+1] = int32(len(list))
	}
	parentsOf := func(i int32) []int32 { return list[first[i]:first[i+1]] }
	const (
		unseen = iota
		open   // on the stack
		done
	)
	state := make([]uint8, len(ids))
	exp := make([]float64, len(ids))
	// An explicit stack: a chain of 100,000 views must not recurse as deep.
	type frame struct{ node, next int32 }
	var stack []frame
	for root := range ids {
		if state[root] != unseen {
			continue
		}
		state[root] = open
		stack = append(stack[:0], frame{node: int32(root)})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if ps := parentsOf(top.node); int(top.next) < len(ps) {
				p := ps[top.next]
				top.next++
				if state[p] == unseen {
					state[p] = open
					stack = append(stack, frame{node: p})
				}
				// A parent still open is a cycle: the compiler's error,
				// not counted here.
				continue
			}
			total := 0.0
			for _, p := range parentsOf(top.node) {
				if state[p] == done {
					total += 1 + exp[p]
				}
			}
			exp[top.node] = min(total, expansionCap)
			state[top.node] = done
			stack = stack[:len(stack)-1]
		}
	}
	return ids, exp
}

// expansionCap is where ViewExpansions stops counting: far past any
// nesting DuckDB could bind, and short of float64's infinity.
const expansionCap = 1e15

// CheckViewNesting returns a warning when views of m expand to more than
// ViewExpansionWarnAt nested view references, positioned at the worst of
// them, or nothing.
func CheckViewNesting(m *Manifest) diag.List {
	var worst NodeID
	var worstExp float64
	over := 0
	ids, exp := viewExpansions(m)
	for i, id := range ids {
		e := exp[i]
		if e <= ViewExpansionWarnAt {
			continue
		}
		over++
		if e > worstExp || (e == worstExp && id < worst) {
			worst, worstExp = id, e
		}
	}
	if over == 0 {
		return nil
	}
	w := m.Nodes[worst]
	others := ""
	if over > 1 {
		others = fmt.Sprintf(" (and %d more models above %s)", over-1, count(ViewExpansionWarnAt))
	}
	var l diag.List
	l.Warnf(w.Pos, "%s %s expands %s nested view references when DuckDB binds it%s: DuckDB binds a view "+
		"through every view under it, so views joining views multiply the time to create and to query each layer — "+
		"materialize some of the views it builds on as tables", w.Config.Materialized, w.Name, count(worstExp), others)
	return l
}

// count renders a count with thousands separators, or "more than
// 10^15" at the cap.
func count(f float64) string {
	if f >= expansionCap {
		return "more than 10^15"
	}
	s := strconv.FormatInt(int64(f), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

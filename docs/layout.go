package docs

import (
	"sort"
)

// Layout is the position of every graph node, computed in Go so the page
// draws even a 10,000-node graph without laying it out in the browser.
// Nodes flow left to right: a node's column is its longest path from a
// root, and nodes within a column are ordered to keep edges short.
type Layout struct {
	X      []float64 `json:"x"`
	Y      []float64 `json:"y"`
	Width  float64   `json:"w"`
	Height float64   `json:"h"`
}

// Spacing of the layout, in page pixels at zoom 1.
const (
	colWidth  = 260
	rowHeight = 34
	// maxColumn is the most nodes one column holds before the layer
	// wraps into a further column, so a wide fan-out stays readable.
	maxColumn = 400
)

// layoutGraph lays out n nodes with parents[i] the indices node i depends
// on. It is deterministic: equal input gives equal positions.
func layoutGraph(n int, parents [][]int) Layout {
	children := make([][]int, n)
	for i, ps := range parents {
		for _, p := range ps {
			children[p] = append(children[p], i)
		}
	}
	// Longest-path layering in topological order (Kahn); nodes on a
	// cycle (impossible in a compiled manifest) stay in layer 0.
	layer := make([]int, n)
	indeg := make([]int, n)
	for i, ps := range parents {
		indeg[i] = len(ps)
	}
	queue := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for k := 0; k < len(queue); k++ {
		v := queue[k]
		for _, c := range children[v] {
			if layer[v]+1 > layer[c] {
				layer[c] = layer[v] + 1
			}
			indeg[c]--
			if indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	maxLayer := 0
	for _, l := range layer {
		maxLayer = max(maxLayer, l)
	}
	layers := make([][]int, maxLayer+1)
	for i := 0; i < n; i++ {
		layers[layer[i]] = append(layers[layer[i]], i)
	}
	pos := make([]float64, n) // order within the layer
	for _, l := range layers {
		for k, v := range l {
			pos[v] = float64(k)
		}
	}
	// Barycenter sweeps: down by parents, then up by children.
	sweep := func(l []int, nb [][]int) {
		bary := make(map[int]float64, len(l))
		for _, v := range l {
			if len(nb[v]) == 0 {
				bary[v] = pos[v]
				continue
			}
			s := 0.0
			for _, u := range nb[v] {
				s += pos[u]
			}
			bary[v] = s / float64(len(nb[v]))
		}
		sort.SliceStable(l, func(a, b int) bool { return bary[l[a]] < bary[l[b]] })
		for k, v := range l {
			pos[v] = float64(k)
		}
	}
	for iter := 0; iter < 2; iter++ {
		for i := 1; i < len(layers); i++ {
			sweep(layers[i], parents)
		}
		for i := len(layers) - 2; i >= 0; i-- {
			sweep(layers[i], children)
		}
	}
	out := Layout{X: make([]float64, n), Y: make([]float64, n)}
	col := 0
	tallest := 0
	for _, l := range layers {
		if len(l) == 0 {
			continue
		}
		wraps := (len(l) + maxColumn - 1) / maxColumn
		per := (len(l) + wraps - 1) / wraps
		for k, v := range l {
			out.X[v] = float64(col+k/per) * colWidth
			out.Y[v] = float64(k%per) * rowHeight
		}
		tallest = max(tallest, per)
		col += wraps
	}
	// Centre each column vertically on the tallest one.
	for _, l := range layers {
		if len(l) == 0 {
			continue
		}
		wraps := (len(l) + maxColumn - 1) / maxColumn
		per := (len(l) + wraps - 1) / wraps
		off := float64(tallest-per) * rowHeight / 2
		for _, v := range l {
			out.Y[v] += off
		}
	}
	out.Width = float64(max(col, 1)) * colWidth
	out.Height = float64(max(tallest, 1)) * rowHeight
	return out
}

package dag

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// build makes a graph from "a>b" edges and bare "x" nodes.
func build(specs ...string) *Graph {
	g := New()
	for _, s := range specs {
		if from, to, ok := strings.Cut(s, ">"); ok {
			g.AddEdge(from, to)
		} else {
			g.AddNode(s)
		}
	}
	return g
}

func TestTopoSort(t *testing.T) {
	tests := []struct {
		name  string
		graph []string
		want  string
		cycle string
	}{
		{"empty", nil, "", ""},
		{"single", []string{"a"}, "a", ""},
		{"ties by id", []string{"c", "b", "a"}, "a b c", ""},
		{"chain against id order", []string{"z>y", "y>x"}, "z y x", ""},
		{"ready smallest first", []string{"b>d", "a>c", "c>e", "d>e"}, "a b c d e", ""},
		{"newly ready smaller id jumps ahead", []string{"m>a", "b"}, "b m a", ""},
		{"diamond", []string{"a>b", "a>c", "b>d", "c>d"}, "a b c d", ""},
		{"duplicate edge", []string{"a>b", "a>b"}, "a b", ""},
		{"two-cycle", []string{"cyc_b>cyc_a", "cyc_a>cyc_b"}, "", "cycle: cyc_a -> cyc_b -> cyc_a"},
		{"self loop", []string{"a", "b>b"}, "", "cycle: b -> b"},
		{"cycle starts at smallest id", []string{"z>c", "c>y", "y>z", "a>z"}, "", "cycle: c -> y -> z -> c"},
		{"cycle behind a chain", []string{"a>b", "b>c", "c>d", "d>c", "d>e"}, "", "cycle: c -> d -> c"},
		{"two cycles, deterministic", []string{"x>y", "y>x", "p>q", "q>p", "a>p"}, "", "cycle: p -> q -> p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 { // stable across repeated calls
				order, err := build(tc.graph...).TopoSort()
				if tc.cycle != "" {
					var ce *CycleError
					if !errors.As(err, &ce) {
						t.Fatalf("err = %v, want *CycleError", err)
					}
					if ce.Error() != tc.cycle {
						t.Fatalf("cycle = %q, want %q", ce.Error(), tc.cycle)
					}
					if ce.Path[0] != ce.Path[len(ce.Path)-1] {
						t.Fatalf("path %v does not close", ce.Path)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(order, " "); got != tc.want {
					t.Fatalf("order = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestCyclePathFollowsEdges(t *testing.T) {
	g := build("a>b", "b>c", "c>a", "c>d")
	_, err := g.TopoSort()
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatal(err)
	}
	for k := 0; k+1 < len(ce.Path); k++ {
		if !slices.Contains(g.Children(ce.Path[k]), ce.Path[k+1]) {
			t.Fatalf("path %v: no edge %s -> %s", ce.Path, ce.Path[k], ce.Path[k+1])
		}
	}
	if got := ce.Error(); got != "cycle: a -> b -> c -> a" {
		t.Fatalf("got %q", got)
	}
}

func TestNodesParentsChildren(t *testing.T) {
	g := build("c>a", "b>a", "a>e", "a>d", "f")
	if got := fmt.Sprint(g.Nodes()); got != "[a b c d e f]" {
		t.Errorf("Nodes = %s", got)
	}
	if got := fmt.Sprint(g.Parents("a")); got != "[b c]" {
		t.Errorf("Parents = %s", got)
	}
	if got := fmt.Sprint(g.Children("a")); got != "[d e]" {
		t.Errorf("Children = %s", got)
	}
	if g.Parents("nope") != nil || g.Children("f") != nil {
		t.Errorf("unknown/leaf should be nil")
	}
	g.AddNode("0") // mutation after a sorted read must refresh the order
	if got := fmt.Sprint(g.Nodes()); got != "[0 a b c d e f]" {
		t.Errorf("Nodes after AddNode = %s", got)
	}
	if !g.Has("0") || g.Has("zz") || g.Len() != 7 {
		t.Errorf("Has/Len wrong")
	}
}

func TestAncestorsDescendants(t *testing.T) {
	// a -> b -> c -> d, and x -> c, plus a shortcut a -> d.
	g := build("a>b", "b>c", "c>d", "x>c", "a>d")
	tests := []struct {
		fn    string
		id    string
		depth int
		want  string
	}{
		{"anc", "d", -1, "[a b c x]"},
		{"anc", "d", 1, "[a c]"},
		{"anc", "d", 2, "[a b c x]"},
		{"anc", "d", 0, "[]"},
		{"anc", "a", -1, "[]"},
		{"anc", "missing", -1, "[]"},
		{"desc", "a", -1, "[b c d]"},
		{"desc", "a", 1, "[b d]"},
		{"desc", "x", 1, "[c]"},
		{"desc", "x", 5, "[c d]"},
		{"desc", "d", -1, "[]"},
	}
	for _, tc := range tests {
		var got []string
		if tc.fn == "anc" {
			got = g.Ancestors(tc.id, tc.depth)
		} else {
			got = g.Descendants(tc.id, tc.depth)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s(%s, %d) = %v, want %s", tc.fn, tc.id, tc.depth, got, tc.want)
		}
	}
}

func TestSubgraph(t *testing.T) {
	g := build("a>b", "b>c", "a>c", "c>d")
	s := g.Subgraph(map[string]bool{"a": true, "c": true, "d": true, "zz": true, "b": false})
	if got := fmt.Sprint(s.Nodes()); got != "[a c d]" {
		t.Fatalf("Nodes = %s", got)
	}
	if got := fmt.Sprint(s.Parents("c")); got != "[a]" {
		t.Fatalf("Parents(c) = %s", got)
	}
	order, err := s.TopoSort()
	if err != nil || fmt.Sprint(order) != "[a c d]" {
		t.Fatalf("order %v %v", order, err)
	}
	if got := fmt.Sprint(g.Parents("c")); got != "[a b]" {
		t.Fatalf("original changed: %s", got)
	}
}

// chain builds a graph of n nodes where node i depends on i-1 and i/2, with
// ids that do not sort in creation order.
func chain(n int) *Graph {
	g := New()
	id := func(i int) string { return fmt.Sprintf("model.m%07d", (i*7919)%n) }
	for i := range n {
		g.AddNode(id(i))
		if i > 0 {
			g.AddEdge(id(i-1), id(i))
			g.AddEdge(id(i/2), id(i))
		}
	}
	return g
}

func TestTopoSortLarge(t *testing.T) {
	g := chain(5000)
	order, err := g.TopoSort()
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for k, id := range order {
		pos[id] = k
	}
	if len(pos) != g.Len() {
		t.Fatalf("order has %d nodes, want %d", len(pos), g.Len())
	}
	for _, id := range order {
		for _, p := range g.Parents(id) {
			if pos[p] >= pos[id] {
				t.Fatalf("%s before its parent %s", id, p)
			}
		}
	}
}

func BenchmarkTopoSort100k(b *testing.B) {
	g := chain(100_000)
	b.ResetTimer()
	for b.Loop() {
		g.mu.Lock()
		g.rank, g.sorted = nil, nil // include the id sort in every iteration
		g.mu.Unlock()
		if _, err := g.TopoSort(); err != nil {
			b.Fatal(err)
		}
	}
}

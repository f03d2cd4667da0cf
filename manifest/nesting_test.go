package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/elt-dev/elt/diag"
)

// nestingManifest builds models from "name:materialized:parent,parent".
func nestingManifest(specs ...string) *Manifest {
	m := &Manifest{Nodes: map[NodeID]*Node{}}
	for _, s := range specs {
		parts := strings.SplitN(s, ":", 3)
		n := &Node{ID: ModelID(parts[0]), Name: parts[0], ResourceType: Model,
			Config: Config{Materialized: parts[1]}, Pos: diag.Pos{File: "models/" + parts[0] + ".sql", Line: 1}}
		if parts[2] != "" {
			for _, p := range strings.Split(parts[2], ",") {
				n.DependsOn = append(n.DependsOn, ModelID(p))
			}
		}
		m.Nodes[n.ID] = n
	}
	return m
}

func TestViewExpansions(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  map[string]float64
	}{
		{"a chain of views grows by one a layer",
			[]string{"base:table:", "a:view:base", "b:view:a", "c:view:b"},
			map[string]float64{"base": 0, "a": 0, "b": 1, "c": 2}},
		{"a diamond counts both paths",
			[]string{"base:table:", "a:view:base", "l:view:a", "r:view:a", "top:view:l,r"},
			map[string]float64{"base": 0, "a": 0, "l": 1, "r": 1, "top": 4}},
		{"a table stops the expansion but pays for its own query",
			[]string{"a:view:", "b:view:a", "t:table:b", "v:view:t"},
			map[string]float64{"a": 0, "b": 1, "t": 2, "v": 0}},
		{"ephemeral models are inlined once each, however many paths reach them",
			[]string{"v:view:", "e1:ephemeral:v", "e2:ephemeral:e1", "e3:ephemeral:e1", "e4:ephemeral:e2,e3", "top:view:e4,e2"},
			map[string]float64{"v": 0, "top": 1}},
		{"a view under an inlined ephemeral still counts whole",
			[]string{"a:view:", "b:view:a", "e:ephemeral:b", "top:table:e,b"},
			map[string]float64{"a": 0, "b": 1, "top": 4}},
		{"an external model is a view over files: one reference, nothing under it",
			[]string{"a:view:", "b:view:a", "x:external:b", "v:view:x", "w:view:v"},
			map[string]float64{"a": 0, "b": 1, "x": 2, "v": 1, "w": 2}},
		{"a cycle ends the count instead of looping",
			[]string{"a:view:b", "b:view:a"},
			map[string]float64{"a": 2, "b": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := expansionsOf(nestingManifest(tc.specs...))
			cyclic := strings.Contains(tc.name, "cycle")
			for name, want := range tc.want {
				e, ok := got[ModelID(name)]
				if !ok || (!cyclic && e != want) || (cyclic && e > want) {
					t.Errorf("%s: %v (present %v), want %v", name, e, ok, want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("counts for %d models, want %d: %v", len(got), len(tc.want), got)
			}
		})
	}
}

// expansionsOf is viewExpansions as a map.
func expansionsOf(m *Manifest) map[NodeID]float64 {
	ids, counts := viewExpansions(m)
	out := make(map[NodeID]float64, len(ids))
	for i, id := range ids {
		out[id] = counts[i]
	}
	return out
}

// fanIn is a view over k views of one table.
func fanIn(k int) *Manifest {
	specs := []string{"base:table:"}
	var parents []string
	for i := range k {
		specs = append(specs, fmt.Sprintf("v%04d:view:base", i))
		parents = append(parents, fmt.Sprintf("v%04d", i))
	}
	return nestingManifest(append(specs, "top:view:"+strings.Join(parents, ","))...)
}

// layerSpecs is a base model of materialization base and layers of two
// models of materialization kind, each joining both of the layer below.
func layerSpecs(layers int, base, kind string) []string {
	specs := []string{"base:" + base + ":", "l0a:" + kind + ":base", "l0b:" + kind + ":base"}
	for i := 1; i < layers; i++ {
		parents := fmt.Sprintf("l%da,l%db", i-1, i-1)
		specs = append(specs, fmt.Sprintf("l%da:%s:%s", i, kind, parents), fmt.Sprintf("l%db:%s:%s", i, kind, parents))
	}
	return specs
}

// layered is layers of views over a table: a layer's expansion is
// 2 × (1 + the layer below's): 0, 2, 6, 14 …
func layered(layers int) *Manifest { return nestingManifest(layerSpecs(layers, "table", "view")...) }

// layeredEphemeral is layers of ephemeral models over a view, under one
// view: inlined once each, so the count does not grow with the layers.
func layeredEphemeral(layers int) *Manifest {
	top := fmt.Sprintf("top:view:l%da,l%db", layers-1, layers-1)
	return nestingManifest(append(layerSpecs(layers, "view", "ephemeral"), top)...)
}

func TestCheckViewNesting(t *testing.T) {
	if l := CheckViewNesting(layered(9)); len(l) != 0 {
		t.Errorf("9 layers (expansion 510) warned: %v", l)
	}
	l := CheckViewNesting(layered(10))
	if len(l) != 1 || l[0].Severity != diag.Warning {
		t.Fatalf("10 layers (expansion 1,022): %v", l)
	}
	for _, want := range []string{"models/l9a.sql:1", "view l9a expands 1,022 nested view references", "(and 1 more models above 1,000)",
		"materialize some of the views it builds on as tables"} {
		if !strings.Contains(l[0].Error(), want) {
			t.Errorf("%q does not say %q", l[0].Error(), want)
		}
	}
	// The threshold: 1,000 references are fine, 1,001 are not.
	if l := CheckViewNesting(fanIn(1000)); len(l) != 0 {
		t.Errorf("a view over 1,000 views warned: %v", l)
	}
	if l := CheckViewNesting(fanIn(1001)); len(l) != 1 || !strings.Contains(l[0].Msg, "view top expands 1,001 nested") {
		t.Errorf("a view over 1,001 views: %v", l)
	}
	// A table over deep views pays for binding them when it is built.
	m := layered(9)
	m.Nodes["model.t"] = &Node{ID: "model.t", Name: "t", ResourceType: Model, Config: Config{Materialized: "table"},
		DependsOn: []NodeID{"model.l8a", "model.l8b"}, Pos: diag.Pos{File: "models/t.sql", Line: 1}}
	if l := CheckViewNesting(m); len(l) != 1 || !strings.Contains(l[0].Msg, "table t expands 1,022 nested") {
		t.Errorf("a table over two 510-views: %v", l)
	}
	// Twenty layers of ephemeral models are inlined once each: no warning.
	if l := CheckViewNesting(layeredEphemeral(20)); len(l) != 0 {
		t.Errorf("layered ephemerals warned: %v", l)
	}
	if got := expansionsOf(layeredEphemeral(20))["model.top"]; got != 2 {
		t.Errorf("layered ephemerals: top counts %v, want 2 (base, once in each of the two first-layer CTEs)", got)
	}
	// 300 layers would overflow any integer: the count stops at its cap.
	if l := CheckViewNesting(layered(300)); len(l) != 1 || !strings.Contains(l[0].Msg, "expands more than 10^15 nested") {
		t.Errorf("300 layers: %v", l)
	}
	// A chain of 100,000 views: no deep recursion, and a warning.
	specs := []string{"v0:view:"}
	for i := 1; i < 100_000; i++ {
		specs = append(specs, fmt.Sprintf("v%d:view:v%d", i, i-1))
	}
	if l := CheckViewNesting(nestingManifest(specs...)); len(l) != 1 || !strings.Contains(l[0].Msg, "v99999 expands 99,999") {
		t.Errorf("chain: %v", l)
	}
}

// BenchmarkCheckViewNesting is the check on 100,000 layered views, as
// every compile of such a project runs it.
func BenchmarkCheckViewNesting(b *testing.B) {
	m := layered(50_000)
	b.ResetTimer()
	for b.Loop() {
		CheckViewNesting(m)
	}
}

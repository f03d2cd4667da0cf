package compiler

import (
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

// TestAcyclic: Kahn's check agrees with the definition on graphs given as
// "node:dep,dep" lists.
func TestAcyclic(t *testing.T) {
	cases := []struct {
		name  string
		nodes []string
		want  bool
	}{
		{"empty", nil, true},
		{"one node", []string{"a:"}, true},
		{"chain", []string{"a:", "b:a", "c:b"}, true},
		{"diamond", []string{"a:", "b:a", "c:a", "d:b,c"}, true},
		{"dependency outside the manifest", []string{"a:x", "b:a"}, true},
		{"self loop", []string{"a:a"}, false},
		{"two-cycle", []string{"a:b", "b:a"}, false},
		{"cycle below an acyclic part", []string{"a:", "b:a,d", "c:b", "d:c", "e:a"}, false},
		{"cycle feeding a chain", []string{"a:b", "b:a", "c:a", "d:c"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}}
			for _, spec := range c.nodes {
				name, deps, _ := strings.Cut(spec, ":")
				n := &manifest.Node{ID: manifest.NodeID(name)}
				for _, d := range strings.Split(deps, ",") {
					if d != "" {
						n.DependsOn = append(n.DependsOn, manifest.NodeID(d))
					}
				}
				m.Nodes[n.ID] = n
			}
			m.BuildChildren()
			if got := acyclic(m); got != c.want {
				t.Fatalf("acyclic = %v, want %v", got, c.want)
			}
		})
	}
}

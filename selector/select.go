// Package selector implements dbt's node selection grammar over a compiled
// manifest and its graph (SPEC §7).
//
// Each --select or --exclude argument holds space-separated terms, whose
// results are united; a term holds comma-separated criteria, whose results
// are intersected. A criterion is
//
//	[@][N+|+]method:value[+|+N]      or      [@][N+|+]value[+|+N]
//
// where "+x" adds x's ancestors, "x+" its descendants (N limits the depth in
// edges), and "@x" adds x, its descendants and every ancestor of those. The
// methods are:
//
//	bare value     a node name or glob (stg_*), a fully qualified name
//	               (project.folder.name, as fqn:), a node id (model.x), or,
//	               when it holds a "/" or ends in .sql/.csv/.yml, a path
//	path:          a file or folder relative to the project, globs allowed
//	file:          a file name, with or without extension
//	fqn:           dbt's fully qualified name: a name or a dotted prefix
//	tag:           a tag of the node or its config
//	source:        source:<src>, source:<src>.<table> — source nodes only
//	config.<key>:  a config value, e.g. config.materialized:incremental;
//	               lists match when any element does, maps by config.meta.owner
//	resource_type: model | seed | snapshot | source | test | unit_test
//	test_type:     generic | singular | unit | data (generic or singular)
//	test_name:     a generic test's name (unique), or a singular test's name
//	state:         modified | new | unmodified | old, against --state
//
// Tests follow one rule, a form of dbt's indirect selection: a test is
// selected when a criterion selects it directly, or when any node it
// depends on is selected (dbt's default, "eager": a relationships test runs
// with either of its models). A test any of whose parents is excluded is
// excluded.
//
// A criterion that matches nothing is not an error: the result is empty and
// the caller warns (Resolve lists such terms). A malformed selector — an
// unknown method, config key or value, or a bad depth or glob — is an error.
package selector

import (
	"slices"

	"github.com/elt-dev/elt/dag"
	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
)

// Graph returns the dependency graph of m: one node per manifest node and
// an edge dep → id for every entry of DependsOn that names a node of m.
func Graph(m *manifest.Manifest) *dag.Graph {
	g := dag.New()
	ids := m.IDs()
	for _, id := range ids {
		g.AddNode(string(id))
	}
	for _, id := range ids {
		for _, dep := range m.Nodes[id].DependsOn {
			if m.Nodes[dep] != nil {
				g.AddEdge(string(dep), string(id))
			}
		}
	}
	return g
}

// Select returns the sorted ids of the nodes of m that include selects and
// exclude does not. An empty include selects every node. g is m's graph
// (nil: built from m); state is the manifest of an earlier run that state:
// criteria compare against (nil: state: is an error).
func Select(m *manifest.Manifest, g *dag.Graph, include, exclude []string, state *manifest.Manifest) ([]manifest.NodeID, error) {
	r, err := Resolve(m, g, include, exclude, state)
	if err != nil {
		return nil, err
	}
	return r.IDs, nil
}

// Result is the outcome of Resolve.
type Result struct {
	// IDs are the selected node ids, sorted.
	IDs []manifest.NodeID
	// Unmatched lists, in argument order, the --select terms that matched
	// no node, for the caller to warn about.
	Unmatched []string
}

// Resolve is Select that also reports which --select terms matched nothing.
// Every malformed selector is reported, one per line of the error.
func Resolve(m *manifest.Manifest, g *dag.Graph, include, exclude []string, state *manifest.Manifest) (*Result, error) {
	var errs diag.List
	parse := func(flag string, args []string) []term {
		var out []term
		for _, a := range args {
			ts, err := parseArg(flag, a)
			if err != nil {
				errs.Errorf(diag.Pos{}, "%s", err.Error())
				continue
			}
			out = append(out, ts...)
		}
		return out
	}
	inc, exc := parse("--select", include), parse("--exclude", exclude)
	if state == nil {
		for _, t := range append(append([]term(nil), inc...), exc...) {
			for _, c := range t.parts {
				if c.method == methodState {
					errs.Errorf(diag.Pos{}, "selector %q compares against an earlier run — pass --state DIR with that run's target/ directory (its manifest.json)", t.raw)
				}
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(inc) == 0 && len(exc) == 0 {
		return &Result{IDs: m.IDs()}, nil // every node (IDs is sorted)
	}
	if g == nil {
		g = Graph(m)
	}
	x := newMatcher(m, state)
	res := &Result{}

	selected := set{}
	if len(inc) == 0 {
		for _, id := range x.ids {
			selected[string(id)] = true
		}
	}
	for _, t := range inc {
		s := x.term(g, t)
		if len(s) == 0 {
			res.Unmatched = append(res.Unmatched, t.raw)
		}
		selected.addAll(s)
	}
	excluded := set{}
	for _, t := range exc {
		excluded.addAll(x.term(g, t))
	}
	for id := range excluded {
		delete(selected, id)
	}

	// Tests: add those with a selected parent; drop those with an excluded
	// parent.
	for _, id := range x.ids {
		n := m.Nodes[id]
		if id.Type() != manifest.Test || len(n.DependsOn) == 0 || excluded[string(id)] {
			continue
		}
		anySelected, anyExcluded := false, false
		for _, dep := range n.DependsOn {
			anySelected = anySelected || selected[string(dep)]
			anyExcluded = anyExcluded || excluded[string(dep)]
		}
		switch {
		case anyExcluded:
			delete(selected, string(id))
		case anySelected:
			selected[string(id)] = true
		}
	}

	for id := range selected {
		if m.Nodes[manifest.NodeID(id)] != nil {
			res.IDs = append(res.IDs, manifest.NodeID(id))
		}
	}
	slices.Sort(res.IDs)
	return res, nil
}

// set is a set of graph ids.
type set map[string]bool

func (s set) addAll(o set) {
	for id := range o {
		s[id] = true
	}
}

// term evaluates the intersection of t's criteria.
func (x *matcher) term(g *dag.Graph, t term) set {
	var acc set
	for _, c := range t.parts {
		s := x.criterion(g, c)
		if acc == nil {
			acc = s
			continue
		}
		for id := range acc {
			if !s[id] {
				delete(acc, id)
			}
		}
	}
	return acc
}

// criterion evaluates one criterion with its graph operators.
func (x *matcher) criterion(g *dag.Graph, c criterion) set {
	base := set{}
	for _, id := range x.nodes(c) {
		base[string(id)] = true
	}
	out := set{}
	out.addAll(base)
	if c.at {
		down := reach(base, -1, g.Children)
		down.addAll(base)
		out.addAll(down)
		out.addAll(reach(down, -1, g.Parents))
	}
	if c.parents {
		out.addAll(reach(base, c.parentsDepth, g.Parents))
	}
	if c.children {
		out.addAll(reach(base, c.childrenDepth, g.Children))
	}
	return out
}

// reach is a breadth-first search from every node of from along next, at
// most depth edges (depth < 0: unlimited). The start nodes are not included
// unless reached from another start node.
func reach(from set, depth int, next func(string) []string) set {
	out := set{}
	seen := set{}
	var frontier []string
	for id := range from {
		seen[id] = true
		frontier = append(frontier, id)
	}
	for d := 0; len(frontier) > 0 && (depth < 0 || d < depth); d++ {
		var nf []string
		for _, id := range frontier {
			for _, n := range next(id) {
				out[n] = true
				if !seen[n] {
					seen[n] = true
					nf = append(nf, n)
				}
			}
		}
		frontier = nf
	}
	return out
}

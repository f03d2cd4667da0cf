package compiler

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// Changes are how a patched compile's inputs differ from the last
// compile's beyond the text of model files (partialparse finds them).
type Changes struct {
	// Props maps each properties file whose text changed to the models it
	// described in the last compile.
	Props map[string][]string
	// Macros are the macro files whose text changed.
	Macros []string
	// Vars are the variables whose value changed (given, or not, by
	// --vars).
	Vars []string
}

// Patch compiles p on top of prev, the manifest of an earlier compile of
// the same project, by making again only the nodes the differences
// between the two compiles' inputs reach. partialparse checks that the
// inputs differ at most in: the text of model and singular test files,
// which model files there are, the text of the properties and macro files
// changes names, seeds' data and the variables changes names; everything
// else (project.yaml, the other files, the options, env_var() values,
// relations, run_query() rows) is the same. warnings are that compile's
// warnings.
//
// Made again are: the models and singular tests whose text changed; the
// singular tests prev does not hold (disabled there); the models a changed
// properties file describes, now or before, with their generic tests; the
// nodes whose rendering called a macro of a changed macro file or read a
// changed variable (a generic test by making its model's tests again); a
// new (or newly enabled) model, with its tests, since nothing could ref
// it; and a seed whose data changed, for its fingerprint. A removed (or
// newly disabled) model leaves with its tests.
//
// The result is what Compile would return, with how many nodes were made
// again or left (disabled models and tests are rendered again too, to see
// whether they still are, but not counted); or m is nil and the caller
// compiles in full. Patch gives up whenever a change could reach a node it
// does not make again: when a model's configuration or relation differs
// from before (other models' SQL renders its relation, its event_time, its
// materialization), when a model is or was ephemeral (others inline it),
// when it is a snapshot (an invariant test embeds its SELECT), when it or
// a test made again refs an ephemeral model, when a unit test tests it or
// gives it as an input (or names a model with no file), when something
// still depends on a model that left, when a test made again takes a name
// another test holds, when a changed properties file now holds more than
// models (sources, seeds or unit tests), when a changed macro file defines
// other macros than before, and when anything has an error (a full
// compile reports every error at once).
//
// prev's unchanged nodes are shared with the result; prev's node map is
// not modified.
func Patch(p *project.Project, opts Options, prev *manifest.Manifest, warnings diag.List, changes Changes) (m *manifest.Manifest, diags diag.List, rendered int) {
	c := prepare(p, opts)
	if c.diags.HasErrors() || len(c.models) != len(p.Models) {
		return nil, nil, 0
	}
	described, ok := describedModels(p, changes.Props)
	if !ok {
		return nil, nil, 0
	}
	if described == nil {
		described = map[string]bool{} // models whose tests are made again too
	}
	// The models of prev whose file is gone leave the manifest, with their
	// generic tests, if nothing else depends on them; so do those
	// disabled now.
	gone := map[manifest.NodeID]bool{}
	for id, n := range prev.Nodes {
		if n.ResourceType == manifest.Model && c.models[n.Name] == nil {
			gone[id] = true
		}
	}
	calledChanged, testsCalling, ok := c.readers(prev, changes)
	if !ok {
		return nil, nil, 0
	}
	for name, tests := range calledChanged {
		if tests {
			described[name] = true
		}
	}
	var changed []*unit
	for _, u := range c.modelList {
		old := prev.Nodes[u.node.ID]
		_, calls := calledChanged[u.node.Name]
		if old != nil && old.Path != u.file.Path {
			// A moved model takes another place in the file order that
			// settles clashing test names: its tests are made again, so
			// that the checks of regenerateTests see the clashes.
			described[u.node.Name] = true
		}
		if old == nil || old.ResourceType != manifest.Model || old.RawSQL != u.file.Content || old.Path != u.file.Path ||
			described[u.node.Name] || calls {
			changed = append(changed, u) // a disabled model (not in prev) renders again too
			continue
		}
		u.node = old
		u.rel = modelRelation(old)
	}
	inUnitTest := unitTestModels(p.UnitTests)
	for _, u := range changed {
		if inUnitTest[u.node.Name] {
			return nil, nil, 0
		}
	}
	seeds := map[string]bool{}
	for _, f := range p.SeedFiles {
		seeds[seedName(f)] = true
	}
	for name := range inUnitTest {
		if c.models[name] == nil && !seeds[name] {
			return nil, nil, 0 // a given input records the relation of a model, even a disabled one, whose file may be gone
		}
	}
	// Singular tests have no dependants: those whose text changed, that
	// called a changed macro, or that prev does not hold (disabled there:
	// a disabled node records no macro files) are made again.
	var retest []*unit
	for _, u := range c.tests { // singular tests: no generic test is made yet
		old := prev.Nodes[u.node.ID]
		switch {
		case old == nil || old.RawSQL != u.file.Content || testsCalling[u.node.ID]:
			retest = append(retest, u)
		case old.ResourceType != manifest.Test || old.TestInfo == nil || old.TestInfo.TestType != "singular":
			return nil, nil, 0
		}
	}
	discovered := append(append([]*unit(nil), changed...), retest...)
	c.parallel(len(discovered), func(i int) { c.discover(discovered[i]) })
	c.indexRefs()
	var live []*unit
	appeared := map[*unit]bool{}
	for _, u := range changed {
		old := prev.Nodes[u.node.ID]
		switch {
		case u.failed:
			return nil, nil, 0
		case !u.node.Config.Enabled && old == nil:
			continue // still disabled: not in the manifest, as before
		case !u.node.Config.Enabled:
			gone[u.node.ID] = true
			continue
		case u.node.Config.Materialized == "snapshot":
			return nil, nil, 0 // one of its invariant tests embeds its SELECT
		case old == nil:
			// A new model file, or a model enabled now: nothing depended on
			// it (a ref to it failed), its tests are made. Its configuration
			// is new: checked as Compile's snapshotTests does.
			if u.node.Config.DeleteCondition != "" {
				c.checkCDC(u)
			}
			appeared[u] = true
			described[u.node.Name] = true
		case u.node.Config.Materialized == "ephemeral" || old.Config.Materialized == "ephemeral":
			return nil, nil, 0
		}
		live = append(live, u)
	}
	var liveTests []*unit
	var dropped []manifest.NodeID
	for _, u := range retest {
		switch {
		case u.failed:
			return nil, nil, 0
		case u.node.Config.Enabled:
			liveTests = append(liveTests, u)
		case prev.Nodes[u.node.ID] != nil:
			dropped = append(dropped, u.node.ID) // disabled now
		}
	}
	rendering := append(append([]*unit(nil), live...), liveTests...)
	c.parallel(len(rendering), func(i int) { c.finalRender(rendering[i]) })
	for _, u := range liveTests {
		if u.failed || c.refsEphemeral(u) {
			return nil, nil, 0
		}
		placeFailures(u.node) // as Compile's compileUnitTests does
	}
	for _, u := range live {
		if u.failed || c.refsEphemeral(u) {
			return nil, nil, 0
		}
		if old := prev.Nodes[u.node.ID]; !appeared[u] && (u.node.Relation != old.Relation || !sameConfig(u.node.Config, old.Config)) {
			return nil, nil, 0
		}
	}
	removed := len(dropped) + len(gone)
	for id := range gone {
		dropped = append(dropped, id)
	}
	tests, replaced, ok := c.regenerateTests(prev, live, described, gone)
	if !ok {
		return nil, nil, 0
	}
	dropped = append(dropped, replaced...)
	tests = append(tests, liveTests...)
	c.inlineEphemerals(live)
	c.inlineEphemerals(tests)
	if c.diags.HasErrors() {
		return nil, nil, 0
	}

	m = &manifest.Manifest{}
	*m = *prev
	m.Metadata.ProjectDir = p.Dir
	m.Metadata.InvocationID = c.opts.InvocationID
	m.Metadata.GeneratedAt = c.opts.RunStartedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
	m.Nodes = make(map[manifest.NodeID]*manifest.Node, len(prev.Nodes))
	for id, n := range prev.Nodes {
		m.Nodes[id] = n
	}
	// A seed's data changes only its fingerprint (its configuration and
	// properties are in files a patch does not take): prepare built every
	// seed's node again.
	for _, n := range c.seeds {
		if old := prev.Nodes[n.ID]; old == nil || old.ResourceType != manifest.Seed {
			return nil, nil, 0
		} else if old.Fingerprint != n.Fingerprint {
			m.Nodes[n.ID] = n
			rendered++
		}
	}
	for _, id := range dropped {
		delete(m.Nodes, id)
	}
	done := append(append([]*unit(nil), live...), tests...)
	c.finishNodes(done)
	for _, u := range done {
		m.Nodes[u.node.ID] = u.node
	}
	m.BuildChildren()
	for id := range gone {
		if len(m.Children[id]) > 0 {
			return nil, nil, 0 // a full compile reports the refs to it
		}
	}
	var rewired []manifest.NodeID // the models whose dependencies changed
	for _, u := range live {
		if old := prev.Nodes[u.node.ID]; old == nil || !slices.Equal(u.node.DependsOn, old.DependsOn) {
			rewired = append(rewired, u.node.ID)
		}
	}
	if onCycle(m, rewired) {
		return nil, nil, 0 // a full compile reports the cycle
	}
	c.checkStreams(m)
	if c.diags.HasErrors() {
		return nil, nil, 0
	}

	if len(changes.Macros) > 0 {
		m.Macros = c.manifestMacros() // their lines and arguments may differ
	}
	m.Vars = c.vars // prev's went through the record, which turns [] into null
	diags = c.patchedDiagnostics(warnings, append(append([]*unit(nil), changed...), retest...), changes)
	if diags.HasErrors() {
		return nil, nil, 0
	}
	return m, diags, rendered + len(live) + len(tests) + removed
}

// readers names the nodes of prev whose rendering called a macro of the
// changed macro files or read a changed variable: models, true for a
// model whose tests must be made again (a generic test of it read one),
// false for one that must only be rendered again; and the singular tests
// that read one. ok is false when the patch must give up: a changed macro
// file defines other macros than before (a template that names a macro a
// file gains may render otherwise without having called it), or a unit
// test, or a test of a source or seed, read one.
func (c *compilation) readers(prev *manifest.Manifest, changes Changes) (models map[string]bool, singular map[manifest.NodeID]bool, ok bool) {
	if len(changes.Macros) == 0 && len(changes.Vars) == 0 {
		return nil, nil, true
	}
	changed, vars := map[string]bool{}, map[string]bool{}
	for _, f := range changes.Macros {
		changed[f] = true
	}
	for _, v := range changes.Vars {
		vars[v] = true
	}
	was, now := map[string]bool{}, map[string]bool{}
	for name, mac := range prev.Macros {
		if changed[mac.Pos.File] {
			was[name] = true
		}
	}
	for name, d := range c.macros {
		if changed[d.file] {
			now[name] = true
		}
	}
	if !maps.Equal(was, now) {
		return nil, nil, false
	}
	models, singular = map[string]bool{}, map[manifest.NodeID]bool{}
	for _, n := range prev.Nodes {
		if !slices.ContainsFunc(n.MacroFiles, func(f string) bool { return changed[f] }) &&
			!slices.ContainsFunc(n.VarsRead, func(v string) bool { return vars[v] }) {
			continue
		}
		switch {
		case n.ResourceType == manifest.Model:
			if _, seen := models[n.Name]; !seen {
				models[n.Name] = false
			}
		case n.ResourceType != manifest.Test || n.TestInfo == nil:
			return nil, nil, false
		case n.TestInfo.TestType == "singular":
			singular[n.ID] = true
		case n.TestInfo.TestType == "generic" && n.TestInfo.AttachedNode.Type() == manifest.Model:
			models[strings.TrimPrefix(string(n.TestInfo.AttachedNode), "model.")] = true
		default:
			return nil, nil, false
		}
	}
	return models, singular, true
}

// describedModels names the models the changed properties files describe
// in p or described before (changedProps), or gives ok false when one of
// those files now holds more than models.
func describedModels(p *project.Project, changedProps map[string][]string) (names map[string]bool, ok bool) {
	if len(changedProps) == 0 {
		return nil, true
	}
	changed := func(file string) bool { _, ok := changedProps[file]; return ok }
	for _, s := range p.Sources {
		if changed(s.File) {
			return nil, false
		}
	}
	for _, u := range p.UnitTests {
		if changed(u.File) {
			return nil, false
		}
	}
	for _, sp := range p.SeedProps {
		if changed(sp.File) {
			return nil, false
		}
	}
	names = map[string]bool{}
	for _, models := range changedProps {
		for _, name := range models {
			names[name] = true
		}
	}
	for name, mp := range p.ModelProps {
		if changed(mp.File) {
			names[name] = true
		}
	}
	return names, true
}

// regenerateTests makes and renders again the generic tests of the live
// models whose properties may have changed (described), in Compile's
// order, and lists prev's tests of those models, which they replace, and
// of the models gone from the manifest. ok
// is false when the patch must give up: a test fails, refs an ephemeral
// model, or takes (or, dropped, may have given) a name another test
// holds, which a full compile could settle otherwise.
func (c *compilation) regenerateTests(prev *manifest.Manifest, live []*unit, described map[string]bool, gone map[manifest.NodeID]bool) (tests []*unit, dropped []manifest.NodeID, ok bool) {
	if len(described) == 0 && len(gone) == 0 {
		return nil, nil, true
	}
	var owners []testOwner
	owned := map[manifest.NodeID]bool{}
	for _, u := range live {
		if described[u.node.Name] {
			owners = append(owners, c.modelOwner(u))
			owned[u.node.ID] = true
		}
	}
	// The names Compile's expandTests starts from (every singular test,
	// disabled ones too) and those of the tests kept.
	seen := map[string]diag.Pos{}
	for _, u := range c.tests {
		seen[u.node.Name] = u.node.Pos
	}
	renamedFrom := map[string]bool{} // what a kept test's name may have been made unique from
	for id, n := range prev.Nodes {
		if n.ResourceType != manifest.Test {
			continue
		}
		if n.TestInfo != nil && n.TestInfo.TestType == "generic" && (owned[n.TestInfo.AttachedNode] || gone[n.TestInfo.AttachedNode]) {
			dropped = append(dropped, id)
			continue
		}
		seen[n.Name] = n.Pos
		if prefix, ok := hashedPrefix(n.Name); ok {
			renamedFrom[prefix] = true
		}
	}
	for _, id := range dropped {
		if renamedFrom[hashPrefix(prev.Nodes[id].Name)] {
			return nil, nil, false // a kept test may have been renamed for its sake
		}
	}
	tests = c.generateTests(owners, seen)
	if c.renamedTests > 0 {
		return nil, nil, false
	}
	c.parallel(len(tests), func(i int) { c.renderTest(tests[i]) })
	for _, u := range tests {
		if u.failed || c.refsEphemeral(u) {
			return nil, nil, false
		}
		placeFailures(u.node) // as Compile's compileUnitTests does
		u.tpl = nil
	}
	return tests, dropped, true
}

// hashPrefix is the part hashName keeps of a name, with the underscore
// before the hash.
func hashPrefix(name string) string {
	if len(name) > maxTestName-11 {
		name = name[:maxTestName-11]
	}
	return strings.TrimRight(name, "_") + "_"
}

// hashedPrefix returns the part of name before a hash hashName appended
// (with its underscore), if name may be one hashName made.
func hashedPrefix(name string) (string, bool) {
	const hashLen = 10
	if len(name) < hashLen+2 || name[len(name)-hashLen-1] != '_' {
		return "", false
	}
	for _, r := range name[len(name)-hashLen:] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return "", false
		}
	}
	return name[:len(name)-hashLen], true
}

// unitTestModels names the models unit tests render (the model each
// tests) or name the relation of (their given ref() inputs, disabled
// models' too).
func unitTestModels(tests []*project.UnitTest) map[string]bool {
	names := map[string]bool{}
	for _, ut := range tests {
		names[ut.Model] = true
		for _, g := range ut.Given {
			if key, ok := givenKey(g.Input); ok && strings.HasPrefix(key, "ref:") {
				names[strings.TrimPrefix(key, "ref:")] = true
			}
		}
	}
	return names
}

// patchedDiagnostics returns a patch's diagnostics, sorted: the warnings
// at the files rendered again and at the changed properties and macro
// files are this compile's, the others the last compile's (the warnings of
// this one's preparation are among them).
func (c *compilation) patchedDiagnostics(warnings diag.List, changed []*unit, changes Changes) diag.List {
	again := map[string]bool{}
	for _, u := range changed {
		again[u.file.Path] = true
	}
	for file := range changes.Props {
		again[file] = true
	}
	for _, file := range changes.Macros {
		again[file] = true
	}
	var diags diag.List
	for _, w := range warnings {
		if !again[w.Pos.File] {
			diags.Add(w)
		}
	}
	for _, d := range c.diags {
		if again[d.Pos.File] {
			diags.Add(d)
		}
	}
	for _, u := range changed {
		diags.Append(u.diags)
	}
	diags.Sort()
	return diags
}

// onCycle reports whether a node of ids lies on a dependency cycle of m.
// prev had no cycle, so a cycle of m passes through a node whose
// dependencies changed: given those, onCycle looks only at their
// ancestors, once for all (Kahn's algorithm over them: a cycle through a
// node is made of its ancestors).
func onCycle(m *manifest.Manifest, ids []manifest.NodeID) bool {
	if len(ids) == 0 {
		return false
	}
	// The ancestors of ids, ids included, with how many of their
	// dependencies are among them.
	pending := map[manifest.NodeID]int{}
	stack := append([]manifest.NodeID(nil), ids...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, seen := pending[id]; seen {
			continue
		}
		n := m.Nodes[id]
		if n == nil {
			continue
		}
		pending[id] = 0
		for _, d := range n.DependsOn {
			if m.Nodes[d] != nil {
				pending[id]++
				stack = append(stack, d)
			}
		}
	}
	var ready []manifest.NodeID
	for id, deps := range pending {
		if deps == 0 {
			ready = append(ready, id)
		}
	}
	done := 0
	for len(ready) > 0 {
		id := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		done++
		for _, child := range m.Children[id] {
			if _, in := pending[child]; !in {
				continue
			}
			if pending[child]--; pending[child] == 0 {
				ready = append(ready, child)
			}
		}
	}
	return done < len(pending)
}

// modelRelation is what ref() of the compiled model n renders as.
func modelRelation(n *manifest.Node) relation {
	rel := relation{Schema: n.Schema, Identifier: n.Alias}
	if n.Config.Materialized == "ephemeral" {
		rel.expr = ephemeralName(n.Name)
	}
	return rel
}

// refsEphemeral reports whether u refs an ephemeral model, whose SQL its
// compiled SQL inlines.
func (c *compilation) refsEphemeral(u *unit) bool {
	order, cyc := c.ephemeralOrder(u)
	return len(order) > 0 || cyc != ""
}

// sameConfig reports whether two model configurations are equal as other
// nodes see them: as the manifest records them, but for the rendered pre
// and post hooks, which only the model's own build runs.
func sameConfig(a, b manifest.Config) bool {
	a.PreHook, a.PostHook, b.PreHook, b.PostHook = nil, nil, nil, nil
	ja, errA := json.Marshal(manifest.PlainConfig(a))
	jb, errB := json.Marshal(manifest.PlainConfig(b))
	return errA == nil && errB == nil && slices.Equal(ja, jb)
}

package compiler

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/elt-dev/elt/bench/gen"
	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/partialparse"
	"github.com/elt-dev/elt/project"
)

// patchEdit is one way of changing a model file's text. patches says
// whether Patch must take the change (true), must refuse it (false), or
// may do either (nil: it depends on the model).
type patchEdit struct {
	name    string
	edit    func(text, other string) string
	patches *bool
}

var (
	yes = true
	no  = false
)

var patchEdits = []patchEdit{
	{"comment appended", func(text, _ string) string { return text + "\n-- edited\n" }, nil},
	{"ref to another model", func(_, other string) string { return "select * from {{ ref('" + other + "') }}" }, nil},
	{"no refs", func(string, string) string { return "select 1 as x" }, nil},
	// A file's last config() call wins.
	{"tags changed", func(text, _ string) string { return text + "\n{{ config(tags=['patched']) }}" }, &no},
	{"alias changed", func(text, _ string) string { return text + "\n{{ config(alias='zz_patched') }}" }, &no},
	{"materialization changed", func(text, _ string) string { return text + "\n{{ config(materialized='ephemeral') }}" }, &no},
	// Hooks run with the model's own build only: nothing else renders them.
	{"hook added", func(text, _ string) string { return text + "\n{{ config(post_hook='select 1 as patched_hook') }}" }, nil},
	// A model disabled or removed leaves, unless something depends on it.
	{"disabled", func(text, _ string) string { return text + "\n{{ config(enabled=false) }}" }, nil},
	{"file removed", func(string, string) string { return removeFile }, nil},
	{"enabled", func(text, _ string) string {
		if !strings.Contains(text, "enabled=false") {
			return ""
		}
		return strings.ReplaceAll(text, "enabled=false", "enabled=true")
	}, nil},
	{"template error", func(text, _ string) string { return text + "\n{{ nope( }}" }, &no},
	{"unknown ref", func(text, _ string) string { return text + "\n-- {{ ref('no_such_model') }}" }, &no},
	{"self ref", func(text, name string) string { return text + "\n-- {{ ref('" + name + "') }}" }, &no},
	{"cycle", func(text, dependant string) string { return text + "\n-- {{ ref('" + dependant + "') }}" }, &no},
}

// patchProject is an error-free project the patch tests edit: a golden
// project, the example or a generated one, loaded and compiled.
type patchProject struct {
	name, src string
	base      *project.Project
	opts      Options
	prev      *manifest.Manifest
}

// patchProjects loads and compiles every error-free golden project, the
// example and a small project generated as the benchmarks generate theirs
// (fan-in and fan-out, a macro call in every model, YAML docs and tests on
// a share of them).
func patchProjects(t *testing.T) []patchProject {
	t.Helper()
	dirs, err := filepath.Glob("testdata/*/project.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	dirs = append(dirs, "../project.yaml")
	genDir := filepath.Join(t.TempDir(), "generated")
	if _, err := gen.Project(genDir, gen.ProjectOptions{Models: 15, Shape: gen.Layered, DocShare: 0.3, Macros: true}); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join(genDir, "project.yaml"))
	var out []patchProject
	for _, pf := range dirs {
		pp := patchProject{src: filepath.Dir(pf), opts: fixedOptions()}
		pp.name = filepath.Base(pp.src)
		if pp.name == ".." {
			pp.name = "example"
		}
		if strings.HasPrefix(pp.name, "errors_") {
			continue
		}
		if f := caseOptions[pp.name]; f != nil {
			f(&pp.opts)
		}
		var errs diag.List
		if pp.base, errs = project.Load(pp.src); errs.HasErrors() {
			t.Fatalf("%s: load: %v", pp.name, errs.Err())
		}
		var diags diag.List
		if pp.prev, diags = Compile(pp.base, pp.opts); diags.HasErrors() {
			t.Fatalf("%s: compile: %v", pp.name, diags.Err())
		}
		out = append(out, pp)
	}
	return out
}

// blocked reports whether every patch of pp gives up: a disabled model a
// unit test names renders again each time, and the unit test records its
// relation.
func (pp patchProject) blocked() bool {
	inUnitTest := unitTestModels(pp.base.UnitTests)
	for _, f := range pp.base.Models {
		if pp.prev.Nodes[manifest.ModelID(f.Name)] == nil && inUnitTest[f.Name] {
			return true
		}
	}
	return false
}

// refsEphemeral reports whether node id of pp's compile depends on an
// ephemeral model.
func (pp patchProject) refsEphemeral(id manifest.NodeID) bool {
	return slices.ContainsFunc(pp.prev.Nodes[id].DependsOn, func(d manifest.NodeID) bool {
		n := pp.prev.Nodes[d]
		return n != nil && n.Config.Materialized == "ephemeral"
	})
}

// noChanges is the Changes of an edit of model, test or seed files.
func noChanges(*testing.T, *project.Project, *project.Project) Changes { return Changes{} }

// TestPatchEqualsCompile edits every model of every patchProjects
// project, one edit at a time, and checks that Patch of the previous
// compile gives exactly what a full compile of the edited project gives
// (see patchCase), or gives up; edits that change a model's configuration
// must make it give up, and the plain edits must be patched somewhere.
func TestPatchEqualsCompile(t *testing.T) {
	patched, tried := map[string]int{}, map[string]int{}
	for _, pp := range patchProjects(t) {
		// A new model file: nothing depends on it, its tests are made. (A
		// disabled model a unit test names makes every patch give up: it
		// renders again, and the test records its relation.)
		inUnitTest := unitTestModels(pp.base.UnitTests)
		blocked := pp.blocked()
		want := &yes
		if blocked {
			want = nil
		}
		t.Run(pp.name+"/file added", func(t *testing.T) {
			text := "select 1 as id"
			if other := otherModel(pp.prev, ""); other != "" {
				text = "select * from {{ ref('" + other + "') }}"
			}
			ok, rendered := patchCase(t, pp, "models/zz_added.sql", text, want, noChanges)
			if ok {
				patched["file added"]++
				if rendered != 1 {
					t.Errorf("made %d nodes again, want 1", rendered)
				}
			}
		})
		for _, f := range pp.base.Models {
			other := otherModel(pp.prev, f.Name)
			for _, e := range patchEdits {
				arg := other
				switch e.name {
				case "self ref":
					arg = f.Name
				case "cycle":
					if arg = dependant(pp.prev, f.Name); arg == "" {
						continue // nothing depends on this model
					}
				case "file removed":
					if pp.base.ModelProps[f.Name] != nil || slices.ContainsFunc(pp.base.UnitTests, func(ut *project.UnitTest) bool { return ut.Model == f.Name }) {
						continue // a YAML entry or a unit test's model naming no file does not load
					}
				}
				text := e.edit(f.Content, arg)
				if text == "" {
					continue
				}
				tried[e.name]++
				// A model disabled before may take any edit that keeps it so.
				want := e.patches
				id := manifest.ModelID(f.Name)
				if pp.prev.Nodes[id] == nil {
					want = nil
				}
				// One that leaves, or comes, with only its own tests depending on
				// it, is patched (unless a unit test names it).
				if !blocked && e.name == "hook added" && plainModel(pp.base, pp.prev, f.Name) && !pp.refsEphemeral(id) {
					want = &yes
				}
				if !blocked && !inUnitTest[f.Name] && (e.name == "enabled" ||
					(e.name == "disabled" || e.name == "file removed") && pp.prev.Nodes[id] != nil && onlyOwnTestsDependOn(pp.prev, id)) {
					want = &yes
				}
				t.Run(pp.name+"/"+f.Path+"/"+e.name, func(t *testing.T) {
					ok, rendered := patchCase(t, pp, f.Path, text, want, noChanges)
					if !ok {
						return
					}
					patched[e.name]++
					if pp.prev.Nodes[id] != nil && e.name != "disabled" && e.name != "file removed" && rendered != 1 {
						t.Errorf("rendered %d models again, want 1", rendered)
					}
				})
			}
		}
	}
	if tried["cycle"] == 0 {
		t.Error("no edit made a cycle")
	}
	for _, e := range []string{"comment appended", "ref to another model", "no refs", "disabled", "file removed", "file added", "enabled", "hook added"} {
		if patched[e] == 0 {
			t.Errorf("no model was patched after the edit %q", e)
		}
	}
	t.Logf("patched: %v", patched)
}

// onlyOwnTestsDependOn reports whether the only nodes of m that depend on
// id are its generic tests.
func onlyOwnTestsDependOn(m *manifest.Manifest, id manifest.NodeID) bool {
	for _, child := range m.Children[id] {
		n := m.Nodes[child]
		if n == nil || n.TestInfo == nil || n.TestInfo.TestType != "generic" || n.TestInfo.AttachedNode != id {
			return false
		}
	}
	return true
}

// otherModel names an enabled, non-ephemeral model of m other than name
// that does not depend on it, or "" when there is none.
func otherModel(m *manifest.Manifest, name string) string {
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		if n.ResourceType == manifest.Model && n.Name != name && n.Config.Materialized != "ephemeral" &&
			!dependsOn(m, id, manifest.ModelID(name)) {
			return n.Name
		}
	}
	return ""
}

// dependant names a model of m that depends on model name, or "".
func dependant(m *manifest.Manifest, name string) string {
	for _, id := range m.IDs() {
		if n := m.Nodes[id]; n.ResourceType == manifest.Model && n.Name != name && dependsOn(m, id, manifest.ModelID(name)) {
			return n.Name
		}
	}
	return ""
}

// dependsOn reports whether node from depends on node to, directly or not.
func dependsOn(m *manifest.Manifest, from, to manifest.NodeID) bool {
	seen := map[manifest.NodeID]bool{}
	var walk func(id manifest.NodeID) bool
	walk = func(id manifest.NodeID) bool {
		if id == to {
			return true
		}
		if seen[id] || m.Nodes[id] == nil {
			return false
		}
		seen[id] = true
		for _, d := range m.Nodes[id].DependsOn {
			if walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// copyProject copies the files of p (loaded from src) into a new directory.
func copyProject(t *testing.T, src string, p *project.Project) string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, in := range p.Inputs {
		files = append(files, in.Path)
	}
	files = append(files, p.SeedFiles...)
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		writeText(t, filepath.Join(dir, filepath.FromSlash(rel)), string(data))
	}
	return dir
}

func writeText(t *testing.T, p, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func warningsOf(l diag.List) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Severity == diag.Warning {
			out = append(out, d)
		}
	}
	return out
}

func diagText(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.Error() + "\n")
	}
	return b.String()
}

// TestPatchWarnings: the last compile's warnings at the files a patch
// renders again are dropped (rendering them again reports their own), the
// others kept. (The compiler reports no warnings today; a patch must not
// lose or repeat any it will.)
func TestPatchWarnings(t *testing.T) {
	src := "testdata/refs_sources"
	base, errs := project.Load(src)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	dir := copyProject(t, src, base)
	q, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	prev, diags := Compile(q, fixedOptions())
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	edited := q.Models[0]
	writeText(t, filepath.Join(dir, filepath.FromSlash(edited.Path)), edited.Content+"\n-- edited\n")
	p, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	kept := diag.Warnf(diag.Pos{File: "models/other.yml", Line: 2}, "kept")
	warnings := diag.List{diag.Warnf(diag.Pos{File: edited.Path, Line: 1}, "of the old text"), kept}
	m, got, rendered := Patch(p, fixedOptions(), prev, warnings, Changes{})
	if m == nil || rendered != 1 {
		t.Fatalf("not patched (rendered %d)", rendered)
	}
	if diagText(got) != diagText(diag.List{kept}) {
		t.Fatalf("warnings after the patch:\n%s\nwant\n%s", diagText(got), diagText(diag.List{kept}))
	}
}

// removeFile, as patchCase's text, removes the file.
const removeFile = "\x00remove"

// patchCase copies the project of pp, compiles it, writes text to the
// file at rel, and checks that Patch of that compile, given
// changes(before, edited), gives exactly what a full compile of the edited
// project gives (comparePatch), or gives up; want, when not nil, says
// whether it must patch. It returns whether it patched and how many nodes
// it made again.
func patchCase(t *testing.T, pp patchProject, rel, text string, want *bool,
	changes func(t *testing.T, before, edited *project.Project) Changes) (patched bool, rendered int) {
	t.Helper()
	opts := pp.opts
	dir := copyProject(t, pp.src, pp.base)
	q, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	before, beforeDiags := Compile(q, opts)
	if beforeDiags.HasErrors() {
		t.Fatal(beforeDiags.Err())
	}
	if text == removeFile {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			t.Fatal(err)
		}
	} else {
		writeText(t, filepath.Join(dir, filepath.FromSlash(rel)), text)
	}
	edited, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatalf("the edit breaks loading: %v", errs.Err())
	}
	got, gotDiags, rendered := Patch(edited, opts, before, warningsOf(beforeDiags), changes(t, q, edited))
	if want != nil && (got != nil) != *want {
		t.Fatalf("patched = %v, want %v", got != nil, *want)
	}
	if got == nil {
		return false, 0
	}
	wantM, wantDiags := Compile(edited, opts)
	if wantDiags.HasErrors() {
		t.Fatalf("patched, but a full compile fails: %v", wantDiags.Err())
	}
	comparePatch(t, got, gotDiags, wantM, wantDiags)
	return true, rendered
}

// testEdits change a singular test's text; patches is as patchEdit's.
var testEdits = []patchEdit{
	{"comment appended", func(text, _ string) string { return text + "\n-- edited\n" }, &yes},
	{"ref to another model", func(_, other string) string {
		return "select * from {{ ref('" + other + "') }} where 1 = 0"
	}, &yes},
	{"no refs", func(string, string) string { return "select 1 as x where false" }, &yes},
	{"disabled", func(text, _ string) string { return "{{ config(enabled=false) }}\n" + text }, &yes},
	{"failures stored, warn", func(text, _ string) string {
		return "{{ config(store_failures=true, severity='warn', tags=['patched']) }}\n" + text
	}, &yes},
	{"template error", func(text, _ string) string { return text + "\n{{ nope( }}" }, &no},
	{"unknown ref", func(text, _ string) string { return text + "\n-- {{ ref('no_such_model') }}" }, &no},
	{"ephemeral ref", func(text, eph string) string {
		if eph == "" {
			return ""
		}
		return text + "\n-- {{ ref('" + eph + "') }}"
	}, &no},
}

// TestPatchTestsEqualsCompile edits every singular test of every
// patchProjects project, and checks that Patch
// gives what a full compile gives, or gives up where it must. A singular
// test has no dependants: any edit that compiles is patched.
func TestPatchTestsEqualsCompile(t *testing.T) {
	patched := map[string]int{}
	for _, pp := range patchProjects(t) {
		other, eph := otherModel(pp.prev, ""), ""
		for _, id := range pp.prev.IDs() {
			if n := pp.prev.Nodes[id]; n.ResourceType == manifest.Model && n.Config.Materialized == "ephemeral" {
				eph = n.Name
			}
		}
		for _, f := range pp.base.Tests {
			// A test disabled before may take any edit that keeps it so; one
			// that refs an ephemeral model is never patched.
			old := pp.prev.Nodes[manifest.TestID(f.Name)]
			refsEphemeral := old != nil && pp.refsEphemeral(old.ID)
			for _, e := range testEdits {
				arg := other
				if e.name == "ephemeral ref" {
					arg = eph
				}
				text := e.edit(f.Content, arg)
				if text == "" {
					continue
				}
				want := e.patches
				if old == nil || refsEphemeral && *want {
					want = nil
				}
				t.Run(pp.name+"/"+f.Path+"/"+e.name, func(t *testing.T) {
					ok, rendered := patchCase(t, pp, f.Path, text, want, noChanges)
					if ok {
						patched[e.name]++
						if old != nil && e.name != "disabled" && rendered != 1 {
							t.Errorf("made %d nodes again, want 1", rendered)
						}
					}
				})
			}
		}
	}
	for _, e := range testEdits {
		if *e.patches && patched[e.name] == 0 {
			t.Errorf("no singular test was patched after the edit %q", e.name)
		}
	}
	t.Logf("patched: %v", patched)
}

// TestPatchSeedsEqualsCompile changes the data of every seed of the
// patchProjects projects: a patch gives the seed its new fingerprint
// and gives exactly what a full compile gives.
func TestPatchSeedsEqualsCompile(t *testing.T) {
	tried := 0
	for _, pp := range patchProjects(t) {
		for _, seed := range pp.base.SeedFiles {
			data, err := os.ReadFile(filepath.Join(pp.src, filepath.FromSlash(seed)))
			if err != nil {
				t.Fatal(err)
			}
			text := strings.TrimRight(string(data), "\n") + "\n"
			lines := strings.SplitAfter(text, "\n")
			text += lines[len(lines)-2] // the last row, repeated
			tried++
			t.Run(pp.name+"/"+seed, func(t *testing.T) {
				if ok, rendered := patchCase(t, pp, seed, text, &yes, noChanges); ok && rendered != 1 {
					t.Errorf("made %d nodes again, want 1", rendered)
				}
			})
		}
	}
	if tried == 0 {
		t.Error("no seed was tried")
	}
}

// scenario writes files into a new project directory, compiles it, applies
// edit to the directory and, when partialparse would try a patch (the same
// ModelKey, no config( gained or lost), checks Patch against a full compile
// (patchCase's comparison). It returns whether a patch was tried and
// whether it patched.
func scenario(t *testing.T, files map[string]string, edit func(dir string)) (tried, patched bool) {
	t.Helper()
	dir := t.TempDir()
	for rel, text := range files {
		writeText(t, filepath.Join(dir, filepath.FromSlash(rel)), text)
	}
	q, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	opts := fixedOptions()
	before, beforeDiags := Compile(q, opts)
	if beforeDiags.HasErrors() {
		t.Fatal(beforeDiags.Err())
	}
	edit(dir)
	edited, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatalf("the edit breaks loading: %v", errs.Err())
	}
	was, now := inputsOf(t, q), inputsOf(t, edited)
	if was.ModelKey != now.ModelKey || was.MacroConfig != now.MacroConfig {
		return false, false
	}
	changedProps, ok := partialparse.PropsChanges(was.Props, now.Props)
	if !ok {
		return false, false
	}
	changedMacros, ok := partialparse.MacroChanges(was.Macros, now.Macros)
	if !ok {
		return false, false
	}
	got, gotDiags, _ := Patch(edited, opts, before, warningsOf(beforeDiags), Changes{Props: changedProps, Macros: changedMacros})
	if got == nil {
		return true, false
	}
	want, wantDiags := Compile(edited, opts)
	if wantDiags.HasErrors() {
		t.Fatalf("patched, but a full compile fails: %v", wantDiags.Err())
	}
	comparePatch(t, got, gotDiags, want, wantDiags)
	return true, true
}

// TestPatchScenarios: model files moved between folders, a folder of the
// project's name created, a new model's delete_condition, a unit test
// that gives a seed.
func TestPatchScenarios(t *testing.T) {
	move := func(from, to string) func(dir string) {
		return func(dir string) {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, to)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(rel, text string) func(dir string) {
		return func(dir string) { writeText(t, filepath.Join(dir, filepath.FromSlash(rel)), text) }
	}
	for _, c := range []struct {
		name           string
		files          map[string]string
		edit           func(dir string)
		tried, patched bool
	}{
		{"moved to a folder with other defaults", map[string]string{
			"project.yaml":     "name: p\nmodels:\n  a: {+schema: sa}\n  b: {+schema: sb}\n",
			"models/a/x.sql":   "select 1 as id",
			"models/b/y.sql":   "select 2 as id",
			"models/other.sql": "select * from {{ ref('x') }}",
		}, move("models/a/x.sql", "models/b/x.sql"), true, false},
		{"moved to another folder", map[string]string{
			"project.yaml":     "name: p\n",
			"models/a/x.sql":   "select 1 as id",
			"models/b/y.sql":   "select 2 as id",
			"models/other.sql": "select * from {{ ref('x') }}",
		}, move("models/a/x.sql", "models/b/x.sql"), true, true},
		// A full compile settles clashing test names in model file order:
		// a's test took not_null_a_b_c first; moved after a_b, it loses it.
		{"moved after a model whose test name it took", map[string]string{
			"project.yaml":     "name: p\n",
			"models/a.sql":     "select 1 as b_c",
			"models/a_b.sql":   "select 1 as c",
			"models/props.yml": "models:\n  - name: a\n    columns:\n      - name: b_c\n        data_tests: [not_null]\n  - name: a_b\n    columns:\n      - name: c\n        data_tests: [not_null]\n",
		}, move("models/a.sql", "models/z/a.sql"), true, false},
		{"moved after a model whose test a custom name took", map[string]string{
			"project.yaml":     "name: p\n",
			"models/a.sql":     "select 1 as id",
			"models/b.sql":     "select 1 as id",
			"models/props.yml": "models:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique: {name: not_null_b_id}\n  - name: b\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
		}, move("models/a.sql", "models/z/a.sql"), true, false},
		{"a folder of the project's name created", map[string]string{
			"project.yaml": "name: p\nmodels:\n  p: {+schema: s1}\n",
			"models/x.sql": "select 1 as id",
		}, write("models/p/y.sql", "select 2 as id"), false, false},
		{"a new model with a delete_condition it cannot honour", map[string]string{
			"project.yaml": "name: p\n",
			"models/x.sql": "select 1 as id",
		}, write("models/y.sql", "{{ config(materialized='table', delete_condition=\"op = 'd'\") }}\nselect 1 as id, 'd' as op"), true, false},
		{"a unit test gives a seed", map[string]string{
			"project.yaml":  "name: p\n",
			"seeds/s.csv":   "id\n1\n",
			"models/x.sql":  "select * from {{ ref('s') }}",
			"models/y.sql":  "select 1 as id",
			"models/ut.yml": "unit_tests:\n  - name: ut_x\n    model: x\n    given:\n      - input: ref('s')\n        rows:\n          - {id: 1}\n    expect:\n      rows:\n        - {id: 1}\n",
		}, write("models/y.sql", "select 2 as id"), true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tried, patched := scenario(t, c.files, c.edit)
			if tried != c.tried || patched != c.patched {
				t.Fatalf("tried %v, patched %v; want %v, %v", tried, patched, c.tried, c.patched)
			}
		})
	}
}

// TestPatchVarsEqualsCompile gives every variable a node of a
// patchProjects project reads, and one none reads, another value with
// --vars, and checks that Patch of the previous compile, given the
// variables partialparse finds changed, gives what a full compile with the
// new value gives, or gives up.
func TestPatchVarsEqualsCompile(t *testing.T) {
	patched, tried := 0, 0
	for _, pp := range patchProjects(t) {
		// The variables the templates name (not what the compile recorded,
		// which this test checks), and one no template names.
		read := map[string]bool{"zz_read_by_none": true}
		for _, files := range [][]*project.SQLFile{pp.base.Models, pp.base.Macros, pp.base.Tests} {
			for _, f := range files {
				for _, m := range varCall.FindAllStringSubmatch(f.Content, -1) {
					read[m[1]] = true
				}
			}
		}
		for _, name := range sortedKeys(read) {
			for _, value := range []any{"patched", int64(7)} {
				opts := pp.opts
				opts.Vars = maps.Clone(pp.opts.Vars)
				if opts.Vars == nil {
					opts.Vars = map[string]any{}
				}
				opts.Vars[name] = value
				tried++
				t.Run(fmt.Sprintf("%s/%s=%v", pp.name, name, value), func(t *testing.T) {
					was := varsInputs(t, pp.base, pp.opts)
					now := varsInputs(t, pp.base, opts)
					if was.ModelKey != now.ModelKey {
						t.Fatal("partialparse would not patch a change of --vars")
					}
					changed := partialparse.VarChanges(was.Vars, now.Vars)
					if !slices.Contains(changed, name) {
						t.Fatalf("changed variables %v lack %s", changed, name)
					}
					_, diags := Compile(pp.base, pp.opts)
					got, gotDiags, _ := Patch(pp.base, opts, pp.prev, warningsOf(diags), Changes{Vars: changed})
					if got == nil {
						if name == "zz_read_by_none" && !pp.blocked() {
							t.Fatal("a variable no node reads made the patch give up")
						}
						return
					}
					patched++
					want, wantDiags := Compile(pp.base, opts)
					if wantDiags.HasErrors() {
						t.Fatalf("patched, but a full compile fails: %v", wantDiags.Err())
					}
					comparePatch(t, got, gotDiags, want, wantDiags)
				})
			}
		}
	}
	if patched <= tried/2 {
		t.Errorf("patched %d of %d changes of --vars", patched, tried)
	}
}

// varCall finds the names templates give var().
var varCall = regexp.MustCompile(`var\(\s*['"](\w+)['"]`)

// varsInputs fingerprints p as compiled with opts' variables.
func varsInputs(t *testing.T, p *project.Project, opts Options) partialparse.Inputs {
	t.Helper()
	in, err := partialparse.Fingerprint(p, partialparse.Options{Vars: opts.Vars})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestPatchVarsThroughRecord: the manifest's variables after a patch of
// the recorded compile (decoded from the record, which turns an empty list
// into null) are the full compile's.
func TestPatchVarsThroughRecord(t *testing.T) {
	dir := t.TempDir()
	writeText(t, filepath.Join(dir, "project.yaml"), "name: p\n")
	writeText(t, filepath.Join(dir, "models", "a.sql"), "select 1 as id")
	opts := fixedOptions()
	opts.Vars = map[string]any{"l": []any{}, "m": map[string]any{"k": []any{}}}
	q, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	prev, diags := Compile(q, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	target := filepath.Join(dir, "target")
	enc, err := manifest.EncodeChunks(prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeText(t, filepath.Join(target, "manifest.json"), string(enc.Bytes()))
	ppOpts := partialparse.Options{Vars: opts.Vars}
	in, err := partialparse.Fingerprint(q, ppOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := partialparse.Save(target, in, &partialparse.Recorder{}, partialparse.EncodeManifest(prev, target), enc, nil, nil); err != nil {
		t.Fatal(err)
	}
	writeText(t, filepath.Join(dir, "models", "a.sql"), "select 2 as id")
	edited, errs := project.Load(dir)
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	now, err := partialparse.Fingerprint(edited, ppOpts)
	if err != nil {
		t.Fatal(err)
	}
	r, patch := partialparse.Find(target, now, nil, nil, nil)
	if r == nil || !patch {
		t.Fatal("the record is not found for a patch")
	}
	got, gotDiags, _ := Patch(edited, opts, r.Manifest, r.Warnings, Changes{Vars: r.ChangedVars})
	if got == nil {
		t.Fatal("not patched")
	}
	want, wantDiags := Compile(edited, opts)
	comparePatch(t, got, gotDiags, want, wantDiags)
}

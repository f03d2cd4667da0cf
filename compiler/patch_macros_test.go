package compiler

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/partialparse"
	"github.com/elt-dev/elt/project"
)

// endOfBody finds the end of the first macro or test block of a file.
var endOfBody = regexp.MustCompile(`\{%-?\s*end(macro|test)\s*-?%\}`)

// macroEdits change a macro file's text. patches is as patchEdit's; a
// plain edit (true) must patch where every caller is plain (see
// plainCallers).
var macroEdits = []struct {
	name    string
	edit    func(text string) string
	patches *bool
}{
	{"comment appended", func(s string) string { return s + "\n{# edited #}\n" }, &yes},
	{"lines shifted", func(s string) string { return "{# edited #}\n\n" + s }, &yes},
	// Its callers' SQL changes (or their config, when they pass its
	// output to config(): then Patch gives up).
	{"body changed", func(s string) string {
		loc := endOfBody.FindStringIndex(s)
		if loc == nil {
			return ""
		}
		return s[:loc[0]] + "/* edited */" + s[loc[0]:]
	}, nil},
	{"last body changed", func(s string) string {
		all := endOfBody.FindAllStringIndex(s, -1)
		if len(all) < 2 {
			return ""
		}
		at := all[len(all)-1][0]
		return s[:at] + "/* edited */" + s[at:]
	}, nil},
	// The switch a disabled singular test's config() asks (partial_parse_props).
	{"switch flipped", func(s string) string {
		if !strings.Contains(s, "return(false)") {
			return ""
		}
		return strings.ReplaceAll(s, "return(false)", "return(true)")
	}, &yes}, // the test is made again, now enabled
	{"macro added", func(s string) string { return s + "\n{% macro zz_patched_new() %}1{% endmacro %}\n" }, &no},
	{"macro removed", func(s string) string {
		loc := endOfBody.FindStringIndex(s)
		if loc == nil {
			return ""
		}
		return s[loc[1]:]
	}, &no},
}

// TestPatchMacrosEqualsCompile edits every macro file of every
// patchProjects project, one edit at a time, and checks that Patch of the previous compile, given
// the changed files as partialparse finds them, gives exactly what a full
// compile of the edited project gives (manifest.json bytes, every node's
// macro files and diagnostics), or gives up where it must.
func TestPatchMacrosEqualsCompile(t *testing.T) {
	patched, tried := map[string]int{}, map[string]int{}
	for _, pp := range patchProjects(t) {
		for _, f := range pp.base.Macros {
			plain := plainCallers(pp.base, pp.prev, f.Path)
			for _, e := range macroEdits {
				text := e.edit(f.Content)
				if text == "" || strings.Contains(text, "config(") != strings.Contains(f.Content, "config(") {
					continue
				}
				tried[e.name]++
				want := e.patches
				if want != nil && *want && !plain {
					want = nil
				}
				changes := func(t *testing.T, before, edited *project.Project) Changes {
					was, now := inputsOf(t, before), inputsOf(t, edited)
					if was.ModelKey != now.ModelKey || was.MacroConfig != now.MacroConfig {
						t.Fatal("partialparse would not patch a macro edit")
					}
					changedMacros, ok := partialparse.MacroChanges(was.Macros, now.Macros)
					if !ok || !slices.Equal(changedMacros, []string{f.Path}) {
						t.Fatalf("changed macro files %v (%v), want only %s", changedMacros, ok, f.Path)
					}
					return Changes{Macros: changedMacros}
				}
				t.Run(pp.name+"/"+f.Path+"/"+e.name, func(t *testing.T) {
					if ok, _ := patchCase(t, pp, f.Path, text, want, changes); ok {
						patched[e.name]++
					}
				})
			}
		}
	}
	for _, e := range macroEdits {
		if tried[e.name] == 0 {
			t.Errorf("the edit %q was never tried", e.name)
		}
		if (e.patches == nil || *e.patches) && patched[e.name] == 0 {
			t.Errorf("no macro file was patched after the edit %q", e.name)
		}
	}
	t.Logf("tried %v, patched %v", tried, patched)
}

// plainCallers reports whether every node of m that called a macro of
// file is a plain model (see plainModel) or a generic test of one.
func plainCallers(p *project.Project, m *manifest.Manifest, file string) bool {
	for _, n := range m.Nodes {
		if !slices.Contains(n.MacroFiles, file) {
			continue
		}
		switch {
		case n.ResourceType == manifest.Model && plainModel(p, m, n.Name):
		case n.ResourceType == manifest.Test && n.TestInfo != nil && n.TestInfo.TestType == "generic" &&
			plainModel(p, m, strings.TrimPrefix(string(n.TestInfo.AttachedNode), "model.")):
		default:
			return false
		}
	}
	return true
}

// comparePatch checks that a patch gave what a full compile gives: the
// same manifest.json, the same macro files and variables read on every
// node (they are not in manifest.json) and the same diagnostics.
func comparePatch(t *testing.T, got *manifest.Manifest, gotDiags diag.List, want *manifest.Manifest, wantDiags diag.List) {
	t.Helper()
	wantJSON, err := manifest.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := manifest.Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("patched manifest differs from a full compile's:\n%s", diffLines(render(want, wantDiags), render(got, gotDiags)))
		if render(want, wantDiags) == render(got, gotDiags) {
			t.Errorf("manifest.json:\n%s", diffLines(string(wantJSON), string(gotJSON)))
		}
	}
	for id, n := range want.Nodes {
		if g := got.Nodes[id]; g != nil && !slices.Equal(g.MacroFiles, n.MacroFiles) {
			t.Errorf("%s: macro files %v, want %v", id, g.MacroFiles, n.MacroFiles)
		}
		if g := got.Nodes[id]; g != nil && !slices.Equal(g.VarsRead, n.VarsRead) {
			t.Errorf("%s: variables read %v, want %v", id, g.VarsRead, n.VarsRead)
		}
	}
	if g, w := diagText(gotDiags), diagText(wantDiags); g != w {
		t.Errorf("diagnostics differ:\n got %s\nwant %s", g, w)
	}
}

// TestMacroFiles: a node records the macro files whose macros its
// rendering called, its generic tests theirs, and a model that defines a
// macro for itself records no file for it.
func TestMacroFiles(t *testing.T) {
	p, errs := project.Load("testdata/partial_parse_props")
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	m, diags := Compile(p, fixedOptions())
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for id, want := range map[manifest.NodeID][]string{
		"model.cents":          {"macros/util.sql"},
		"model.local_macro":    nil,
		"model.a":              nil,
		"test.no_negative_ids": {"macros/singular.sql"},
		"test.positive_orders_amount_with_a_rather_long_column_name_a77d236512": {"macros/util.sql"},
		"test.not_null_k_zz_added": nil,
	} {
		n := m.Nodes[id]
		if n == nil {
			t.Fatalf("no node %s", id)
		}
		if !slices.Equal(n.MacroFiles, want) {
			t.Errorf("%s: macro files %v, want %v", id, n.MacroFiles, want)
		}
	}
}

package compiler

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/partialparse"
	"github.com/elt-dev/elt/project"
)

// propsEdit is one way of changing a properties file: edit changes the
// parsed file (its models: entry of model, or the whole document) and
// reports whether it applies; text, when set, changes the file's text
// instead. patches is as patchEdit's.
type propsEdit struct {
	name    string
	edit    func(doc, entry *yaml.Node, pe propsEditArgs) bool
	text    func(text string) string
	patches *bool
}

// propsEditArgs are what an edit may use beyond the file.
type propsEditArgs struct {
	undocumented string // a model no properties file describes, or ""
	takenTest    string // the name of a test of another model, or ""
}

var propsEdits = []propsEdit{
	{name: "comment appended", text: func(s string) string { return s + "\n# edited\n" }, patches: &yes},
	{name: "lines shifted", text: func(s string) string { return "# edited\n\n" + s }, patches: &yes},
	{name: "description changed", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		setKey(e, "description", scalar("edited in a patch"))
		return true
	}, patches: &yes},
	{name: "column test added", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		appendColumn(e, "zz_added", seq(scalar("not_null"), mapping("accepted_values", mapping("values", seq(scalar("a"), scalar("b"))))))
		return true
	}, patches: &yes},
	{name: "failures stored", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		appendColumn(e, "zz_stored", seq(mapping("not_null", mapping("config", mapping("store_failures", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})))))
		return true
	}, patches: &yes},
	{name: "tests removed", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		removed := removeKeys(e, "data_tests", "tests")
		if cols := getKey(e, "columns"); cols != nil {
			for _, c := range cols.Content {
				removed = removeKeys(c, "data_tests", "tests") || removed
			}
		}
		return removed
	}, patches: &yes},
	{name: "entry removed", edit: func(doc, e *yaml.Node, _ propsEditArgs) bool {
		models := getKey(doc, "models")
		models.Content = slices.DeleteFunc(models.Content, func(n *yaml.Node) bool { return n == e })
		return true
	}}, // its configuration may go with it
	{name: "undocumented model described", edit: func(doc, _ *yaml.Node, pe propsEditArgs) bool {
		if pe.undocumented == "" {
			return false
		}
		models := getKey(doc, "models")
		entry := mapping("name", scalar(pe.undocumented), "description", scalar("newly described"))
		appendColumn(entry, "id", seq(scalar("unique")))
		models.Content = append(models.Content, entry)
		return true
	}, patches: &yes},
	{name: "test repeated", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		appendColumn(e, "zz_twice", seq(scalar("not_null"), scalar("not_null")))
		return true
	}, patches: &no}, // the second is renamed, as a full compile may settle otherwise
	{name: "test name taken", edit: func(_, e *yaml.Node, pe propsEditArgs) bool {
		if pe.takenTest == "" {
			return false
		}
		appendColumn(e, "zz_named", seq(mapping("not_null", mapping("name", scalar(pe.takenTest)))))
		return true
	}, patches: &no},
	{name: "tags in YAML", edit: func(_, e *yaml.Node, _ propsEditArgs) bool {
		setKey(e, "config", mapping("tags", seq(scalar("patched"))))
		return true
	}, patches: &no},
	{name: "source added", edit: func(doc, _ *yaml.Node, _ propsEditArgs) bool {
		src := mapping("name", scalar("zz_patched"), "tables", seq(mapping("name", scalar("t"))))
		if s := getKey(doc, "sources"); s != nil {
			s.Content = append(s.Content, src)
		} else {
			setKey(doc, "sources", seq(src))
		}
		return true
	}, patches: &no},
}

// TestPatchPropsEqualsCompile edits every models-only properties file of
// every error-free golden project, of the example project and of a small
// generated one, once per model entry and edit, and checks that Patch of
// the previous compile, given the changed files as partialparse finds
// them, gives exactly what a full compile of the edited project gives
// (manifest.json bytes and diagnostics), or gives up where it must.
func TestPatchPropsEqualsCompile(t *testing.T) {
	patched, tried := map[string]int{}, map[string]int{}
	for _, pp := range patchProjects(t) {
		baseIn := inputsOf(t, pp.base)
		args := propsEditArgs{undocumented: undocumented(pp.base, pp.prev)}
		for _, file := range pp.base.PropsFiles {
			pf := baseIn.Props[file]
			if pf.Other || len(pf.Models) == 0 {
				continue // partialparse refuses to patch such a file
			}
			// Patch takes the plain edits of a file whose models it may
			// render again.
			plain := pp.name != "partial_parse_props" || file == "models/two.yml" // the others are made to clash
			for _, model := range pf.Models {
				plain = plain && plainModel(pp.base, pp.prev, model)
			}
			disabled := false
			for _, model := range pf.Models {
				disabled = disabled || pp.prev.Nodes[manifest.ModelID(model)] == nil
			}
			original := readText(t, filepath.Join(pp.src, filepath.FromSlash(file)))
			for _, model := range pf.Models {
				args.takenTest = testOfAnother(pp.prev, pf.Models)
				for _, e := range propsEdits {
					text := editProps(t, original, model, e, args)
					if text == "" {
						continue // the edit does not apply
					}
					tried[e.name]++
					want := e.patches
					if want != nil && *want && !plain || disabled {
						want = nil // a disabled model takes any edit that keeps it so
					}
					changes := func(t *testing.T, before, edited *project.Project) Changes {
						changedProps, ok := partialparse.PropsChanges(inputsOf(t, before).Props, inputsOf(t, edited).Props)
						if !ok {
							if !inputsOf(t, edited).Props[file].Other || e.patches == nil || *e.patches {
								t.Fatal("partialparse refuses the change of a models-only file")
							}
							changedProps = map[string][]string{file: pf.Models} // Patch must refuse it too
						}
						if _, ok := changedProps[file]; !ok || len(changedProps) != 1 {
							t.Fatalf("changed properties files %v, want only %s", changedProps, file)
						}
						return Changes{Props: changedProps}
					}
					t.Run(pp.name+"/"+file+"/"+model+"/"+e.name, func(t *testing.T) {
						if ok, _ := patchCase(t, pp, file, text, want, changes); ok {
							patched[e.name]++
						}
					})
				}
			}
		}
	}
	for _, e := range propsEdits {
		if e.name == "undocumented model described" || e.name == "test name taken" {
			continue // not every project has one
		}
		if tried[e.name] == 0 {
			t.Errorf("the edit %q was never tried", e.name)
		}
		if (e.patches == nil || *e.patches) && patched[e.name] == 0 {
			t.Errorf("no properties file was patched after the edit %q", e.name)
		}
	}
	for _, e := range []string{"undocumented model described", "test name taken"} {
		if tried[e] == 0 {
			t.Errorf("the edit %q was never tried", e)
		}
	}
	t.Logf("tried %v, patched %v", tried, patched)
}

// editProps returns the text of a properties file after e, on the
// models: entry of model; "" when e does not apply.
func editProps(t *testing.T, text, model string, e propsEdit, args propsEditArgs) string {
	t.Helper()
	if e.text != nil {
		return e.text(text)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	if !e.edit(root, modelEntry(t, root, model), args) {
		return ""
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func inputsOf(t *testing.T, p *project.Project) partialparse.Inputs {
	t.Helper()
	in, err := partialparse.Fingerprint(p, partialparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// plainModel reports whether model is an enabled model of m, neither
// ephemeral nor a snapshot, that no unit test of p names.
func plainModel(p *project.Project, m *manifest.Manifest, model string) bool {
	n := m.Nodes[manifest.ModelID(model)]
	return n != nil && n.Config.Materialized != "ephemeral" && n.Config.Materialized != "snapshot" &&
		!unitTestModels(p.UnitTests)[model]
}

// undocumented names a plain model (see plainModel) no properties file
// describes, or "".
func undocumented(p *project.Project, m *manifest.Manifest) string {
	for _, f := range p.Models {
		if p.ModelProps[f.Name] == nil && plainModel(p, m, f.Name) {
			return f.Name
		}
	}
	return ""
}

// testOfAnother names a test of m attached to none of models (those of
// the edited file, whose tests a patch makes again), or "".
func testOfAnother(m *manifest.Manifest, models []string) string {
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		if n.ResourceType == manifest.Test && (n.TestInfo == nil || !slices.Contains(models, strings.TrimPrefix(string(n.TestInfo.AttachedNode), "model."))) {
			return n.Name
		}
	}
	return ""
}

func readText(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// modelEntry returns the models: entry of root named model.
func modelEntry(t *testing.T, root *yaml.Node, model string) *yaml.Node {
	t.Helper()
	if models := getKey(root, "models"); models != nil {
		for _, e := range models.Content {
			if n := getKey(e, "name"); n != nil && n.Value == model {
				return e
			}
		}
	}
	t.Fatalf("no models: entry named %s", model)
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// mapping builds a mapping of alternate keys and values; a key is a string.
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i < len(kv); i += 2 {
		m.Content = append(m.Content, scalar(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

func getKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

// removeKeys removes keys from the mapping m and reports whether it had any.
func removeKeys(m *yaml.Node, keys ...string) bool {
	removed := false
	for i := 0; i+1 < len(m.Content); {
		if slices.Contains(keys, m.Content[i].Value) {
			m.Content = slices.Delete(m.Content, i, i+2)
			removed = true
			continue
		}
		i += 2
	}
	return removed
}

// appendColumn adds a column with data tests to a model entry.
func appendColumn(entry *yaml.Node, name string, tests *yaml.Node) {
	col := mapping("name", scalar(name), "data_tests", tests)
	if cols := getKey(entry, "columns"); cols != nil {
		cols.Content = append(cols.Content, col)
		return
	}
	setKey(entry, "columns", seq(col))
}

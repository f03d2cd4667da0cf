package compiler

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// TestManifestJSONIsCanonical compiles the example project and every test
// project that compiles, and checks manifest.Encode against the reference
// canonical form (a round trip through generic values, keys sorted by
// encoding/json): manifest.json is written without a sorting pass, which
// relies on the field order of the manifest's types and on the values
// the compiler puts in its maps.
func TestManifestJSONIsCanonical(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range append(dirs, "..") {
		if _, err := os.Stat(filepath.Join(dir, "project.yaml")); err != nil {
			continue
		}
		p, errs := project.Load(dir)
		if errs.HasErrors() {
			continue
		}
		m, diags := Compile(p, fixedOptions())
		if diags.HasErrors() {
			continue
		}
		checkCanonical(t, dir, m)
		t.Logf("%s: canonical", dir)
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d projects", checked)
	}
}

// checkCanonical fails t unless manifest.Encode(m) gives the reference
// canonical form: a round trip through generic values (numbers as
// written), keys sorted by encoding/json, no HTML escaping.
func checkCanonical(t *testing.T, name string, m *manifest.Manifest) {
	t.Helper()
	got, err := manifest.Encode(m)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		t.Fatal(err)
	}
	if w := want.Bytes(); !bytes.Equal(got, w) {
		i := 0
		for i < len(got) && i < len(w) && got[i] == w[i] {
			i++
		}
		t.Errorf("%s: manifest.json is not canonical at byte %d:\n got %s\nwant %s", name, i,
			got[max(0, i-80):min(len(got), i+80)], w[max(0, i-80):min(len(w), i+80)])
	}
}

// TestMetaStructCanonical: a relation (ref() or this) put in meta by a
// template is written with sorted keys like any other object.
func TestMetaStructCanonical(t *testing.T) {
	p := &project.Project{Name: "x", Vars: map[string]any{},
		Models: []*project.SQLFile{
			{Path: "models/a.sql", Name: "a", Content: "select 1 as id"},
			{Path: "models/b.sql", Name: "b", Content: "{{ config(meta={'upstream': ref('a'), 'html': '<a&b>'}) }}select * from {{ ref('a') }}"},
		}}
	m, diags := Compile(p, fixedOptions())
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	checkCanonical(t, "meta holding a relation", m)
}

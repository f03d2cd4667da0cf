package partialparse

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// TestGobRoundTripFidelity compiles a small project, records it and looks
// it up: the reused manifest keeps the pointers to zero values gob drops
// (full_refresh=false, max_quarantine_ratio=0, contract {enforced: false}).
func TestGobRoundTripFidelity(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"project.yaml": "name: rt\n",
		"models/inc.sql": "{{ config(materialized='incremental', full_refresh=false, max_quarantine_ratio=0, " +
			"quarantine=[{'name': 'pos', 'condition': 'x >= 0'}], contract={'enforced': false}) }}\nselect 1 as x",
		"models/plain.sql": "select 1 as y",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, diags := project.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile(p, compiler.Options{InvocationID: "x"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	target := filepath.Join(dir, "target")
	data, err := compiler.WriteArtifacts(m, target, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Fingerprint(p, Options{EltVersion: "t", ProjectDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(target, in, &Recorder{}, EncodeManifest(m, target), data, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := Lookup(target, in, nil, nil, nil)
	if r == nil {
		t.Fatal("not reused")
	}
	fresh, reused := m.Nodes["model.inc"].Config, r.Manifest.Nodes["model.inc"].Config
	if fresh.FullRefresh == nil || *fresh.FullRefresh {
		t.Fatalf("fresh compile: full_refresh = %v", fresh.FullRefresh)
	}
	if reused.FullRefresh == nil {
		t.Errorf("reused manifest lost config full_refresh=false (fresh: &false, reused: nil): " +
			"`elt run --full-refresh` would rebuild a model that forbids it")
	}
	if fresh.MaxQuarantineRatio != nil && reused.MaxQuarantineRatio == nil {
		t.Errorf("reused manifest lost max_quarantine_ratio=0 (fresh: &0, reused: nil)")
	}
	if fresh.Contract != nil && reused.Contract == nil {
		t.Errorf("reused manifest lost contract {enforced: false} (fresh: %+v, reused: nil)", *fresh.Contract)
	}
}

// TestGobBodyEqualsManifest: a manifest with every kind of value (pointers
// to zero values, nested pointers, maps and slices of any) decodes from
// the record to the same manifest.json bytes as the original.
func TestGobBodyEqualsManifest(t *testing.T) {
	no, zero := false, 0.0
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{
		"model.a": {ID: "model.a", Name: "a", ResourceType: manifest.Model, Config: manifest.Config{
			Enabled: true, FullRefresh: &no, MaxQuarantineRatio: &zero, Contract: &manifest.Contract{},
			Meta: map[string]any{"n": 1, "f": 1.5, "l": []any{"x", 2, nil}, "m": map[string]any{}}}},
		"source.s.t": {ID: "source.s.t", Name: "t", ResourceType: manifest.Source,
			Source: &manifest.SourceInfo{Freshness: &manifest.Freshness{WarnAfter: &manifest.Period{}}}},
	}, Vars: map[string]any{"v": []any{1, "two"}}}
	m.BuildChildren()
	want, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	enc := EncodeManifest(m, dir)
	if enc.err != nil {
		t.Fatal(enc.err)
	}
	p := filepath.Join(dir, BodyName)
	if err := os.Rename(enc.tmp, p); err != nil {
		t.Fatal(err)
	}
	back, err := decodeBody(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Encode(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("decoded manifest differs:\n got %s\nwant %s", got, want)
	}
	if back.Nodes["model.a"].Config.Meta["n"] != 1 {
		t.Fatalf("meta n = %#v, want the int 1", back.Nodes["model.a"].Config.Meta["n"])
	}
}

// TestNoPointersInCollections: zeroPointers follows struct fields and
// pointers only; a pointer field reachable through a slice or a map of the
// manifest would be dropped by gob when it points at a zero value.
func TestNoPointersInCollections(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, inCollection bool, path string)
	walk = func(typ reflect.Type, inCollection bool, path string) {
		switch typ.Kind() {
		case reflect.Pointer:
			if inCollection {
				t.Errorf("%s: a pointer inside a slice or map", path)
			}
			walk(typ.Elem(), inCollection, path)
		case reflect.Slice, reflect.Array:
			walk(typ.Elem(), true, path+"[]")
		case reflect.Map:
			walk(typ.Elem(), true, path+"[k]")
		case reflect.Struct:
			if seen[typ] || typ.PkgPath() == "time" {
				return
			}
			seen[typ] = true
			for i := 0; i < typ.NumField(); i++ {
				if f := typ.Field(i); f.IsExported() {
					walk(f.Type, inCollection, path+"."+f.Name)
				}
			}
		}
	}
	// Nodes are encoded one by one, each as its own root; a macro in
	// Macros always has a name, so its pointer never points at a zero value.
	skip := map[string]bool{"Nodes": true, "Macros": true}
	mt := reflect.TypeOf(manifest.Manifest{})
	for i := 0; i < mt.NumField(); i++ {
		if f := mt.Field(i); f.IsExported() && !skip[f.Name] {
			walk(f.Type, false, "Manifest."+f.Name)
		}
	}
	walk(reflect.TypeOf(manifest.Node{}), false, "Node")
	for _, f := range reflect.VisibleFields(reflect.TypeOf(manifest.Macro{})) {
		if f.Type.Kind() == reflect.Pointer {
			t.Errorf("Macro.%s is a pointer inside the Macros map", f.Name)
		}
	}
}

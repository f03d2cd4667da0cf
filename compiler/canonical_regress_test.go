package compiler

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// TestMetaStructCanonical: a relation (ref()/this) in meta must be
// written with sorted keys, as before.
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
	got, err := manifest.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("DUMP"); f != "" {
		os.WriteFile(f, got, 0o644)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.Encode(generic)
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("manifest.json is not canonical at byte %d:\n got %s\nwant %s", i, got[max(0, i-80):min(len(got), i+80)], want.Bytes()[max(0, i-80):min(want.Len(), i+80)])
	}
}

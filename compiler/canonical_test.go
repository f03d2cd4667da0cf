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
		got, err := manifest.Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
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
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: manifest.json is not canonical JSON", dir)
		}
		t.Logf("%s: canonical", dir)
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d projects", checked)
	}
}

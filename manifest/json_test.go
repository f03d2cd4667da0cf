package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/elt-dev/elt/diag"
)

// TestEncodeEqualsCanonicalRoundTrip checks that Encode, which
// canonicalises nodes one by one, gives exactly the bytes of one canonical
// round trip of the whole manifest, with and without the members that sort
// after "nodes".
func TestEncodeEqualsCanonicalRoundTrip(t *testing.T) {
	node := func(name string, deps ...NodeID) *Node {
		return &Node{ID: ModelID(name), ResourceType: Model, Name: name, Path: "models/" + name + ".sql",
			Pos: diag.Pos{File: "models/" + name + ".sql", Line: 1}, DependsOn: deps,
			Config: DefaultConfig(), CompiledSQL: "select '<&>' as \"x\"\nfrom t -- ü\n",
			Columns: []Column{{Name: "b", Description: "B."}, {Name: "a"}}}
	}
	many := &Manifest{Nodes: map[NodeID]*Node{}}
	for i := 0; i < 50; i++ {
		n := node(fmt.Sprintf("m%02d", i))
		if i > 0 {
			n.DependsOn = []NodeID{ModelID(fmt.Sprintf("m%02d", i-1))}
		}
		many.Nodes[n.ID] = n
	}
	many.BuildChildren()
	tests := map[string]*Manifest{
		"no nodes":   {Metadata: Metadata{ProjectName: "p"}},
		"nil nodes":  {Nodes: nil, Vars: map[string]any{"a": 1}},
		"nodes last": {Nodes: map[NodeID]*Node{"model.a": node("a")}},
		"with vars": {Nodes: map[NodeID]*Node{"model.a": node("a"), "model.b": node("b", "model.a")},
			Vars: map[string]any{"v": []any{1.5, "x", nil, true, map[string]any{"z\"q": 1, "a\\b": []any{}, "é": map[string]any{}}}, "u": -2e-9}},
		"with hooks":   {Nodes: map[NodeID]*Node{"model.a": node("a")}, Hooks: Hooks{OnRunStart: []string{"select 1"}}},
		"many workers": many,
		"backslashes before quotes": {Nodes: map[NodeID]*Node{"model.a": func() *Node {
			n := node("a")
			n.CompiledSQL = `select '\' as "q\"", 'x\\"y' -- "\"` + "\\"
			n.Description = `ends with a backslash \`
			return n
		}()}, Vars: map[string]any{`k\`: `v\"`, `\"`: []any{`\\`, `"`}}},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			want, err := roundTrip(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("Encode differs from the canonical round trip:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// roundTrip is the reference encoding: the whole manifest through generic
// values, keys sorted by encoding/json, numbers kept as written.
func roundTrip(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// TestMetadataSpan: splicing EncodeMetadata of new metadata into an
// encoded manifest at MetadataSpan gives the bytes of encoding the manifest
// with the new metadata (what a reused compile writes in place).
func TestMetadataSpan(t *testing.T) {
	m := &Manifest{Nodes: map[NodeID]*Node{"model.a": {ID: "model.a", Name: "a", ResourceType: Model,
		Config: DefaultConfig(), CompiledSQL: `select '"metadata":{}' as x`}},
		Metadata: Metadata{ProjectName: "p", InvocationID: "old", GeneratedAt: "2026-01-01T00:00:00Z"},
		Vars:     map[string]any{"metadata": map[string]any{"x": 1}}}
	m.BuildChildren()
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata.InvocationID, m.Metadata.GeneratedAt, m.Metadata.EltVersion = "new", "2026-11-25T00:00:00Z", "v9"
	want, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	start, end, err := MetadataSpan(data)
	if err != nil {
		t.Fatal(err)
	}
	md, err := EncodeMetadata(m.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append(append([]byte(nil), data[:start]...), md...), data[end:]...)
	if string(got) != string(want) {
		t.Fatalf("spliced:\n got %s\nwant %s", got, want)
	}
	if _, _, err := MetadataSpan([]byte(`{"nodes":{}}`)); err == nil {
		t.Fatal("no error for a manifest without metadata")
	}
}

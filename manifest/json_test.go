package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync/atomic"
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
		"opaque values in any": {Nodes: map[NodeID]*Node{"model.a": func() *Node {
			n := node("a")
			n.Meta = map[string]any{"zkey": struct{ Z, A int }{1, 2}, "a": []any{struct{ Y, B string }{"y", "b"}}}
			n.Columns[0].Meta = map[string]any{"k": struct{ Q, P bool }{true, false}}
			return n
		}()}, Vars: map[string]any{"v": struct{ D, C int }{1, 2}}},
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
			e, err := EncodeChunks(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			read, err := io.ReadAll(e.Reader())
			if err != nil {
				t.Fatal(err)
			}
			if string(read) != string(want) || e.Len() != len(want) {
				t.Errorf("EncodeChunks' Reader (Len %d) differs from the canonical round trip:\n got: %s\nwant: %s", e.Len(), read, want)
			}
			for _, span := range [][2]int{{0, len(want)}, {0, 1}, {len(want) / 3, len(want) / 2}, {len(want) - 1, len(want)}, {5, 5}} {
				if got := e.Span(span[0], span[1]); string(got) != string(want[span[0]:span[1]]) {
					t.Errorf("Span(%d, %d) = %q, want %q", span[0], span[1], got, want[span[0]:span[1]])
				}
			}
			ws, we, werr := MetadataSpan(want)
			gs, ge, gerr := e.MetadataSpan()
			if ws != gs || we != ge || (werr == nil) != (gerr == nil) {
				t.Errorf("Encoded.MetadataSpan = %d, %d, %v; want %d, %d, %v", gs, ge, gerr, ws, we, werr)
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

// TestHoldsOpaque: the values that need the sorting pass are found where
// they hide, and plain manifests do not pay for it.
func TestHoldsOpaque(t *testing.T) {
	plain := &Node{ID: "model.a", Meta: map[string]any{"a": []any{1, "x", map[string]any{"b": true}}},
		Config:  Config{Meta: map[string]any{"s": struct{ B, A int }{}}}, // Config sorts itself
		Columns: []Column{{Name: "c", Meta: map[string]any{"k": nil}}}}
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"plain node", plain, false},
		{"struct in node meta", &Node{Meta: map[string]any{"r": struct{ B, A int }{}}}, true},
		{"struct in a column's test args", &Node{Columns: []Column{{DataTests: []TestSpec{{Args: map[string]any{"x": []any{struct{}{}}}}}}}}, true},
		{"invalid UTF-8 key", &Node{Meta: map[string]any{"\xff": 1}}, true},
		{"invalid UTF-8 key in a nested map", &Node{TestInfo: &TestInfo{Args: map[string]any{"a": map[string]any{"\xfe": 1}}}}, true},
		{"struct in unit test rows", &Node{TestInfo: &TestInfo{Unit: &UnitTestInfo{Given: []UnitInput{{UnitRows: UnitRows{Rows: []map[string]any{{"x": struct{}{}}}}}}}}}, true},
		{"struct in vars", &Manifest{Vars: map[string]any{"v": struct{}{}}}, true},
	}
	for _, tt := range tests {
		if got := holdsOpaque(reflect.ValueOf(tt.v)); got != tt.want {
			t.Errorf("%s: holdsOpaque = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.ReaderAt
	read atomic.Int64 // the encoding's workers read at once
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read.Add(int64(n))
	return n, err
}

// TestEncodeChunksCopiesPrior: encoding with a prior manifest.json copies
// the members of the unchanged nodes and gives the bytes of encoding
// afresh; spans that do not fit (shifted, a changed node's, a file of
// other bytes) make it encode those nodes instead, with the same result.
func TestEncodeChunksCopiesPrior(t *testing.T) {
	old := &Manifest{Nodes: map[NodeID]*Node{}, Metadata: Metadata{ProjectName: "p"}}
	for i := 0; i < 300; i++ {
		n := &Node{ID: ModelID(fmt.Sprintf("m%03d", i)), ResourceType: Model, Name: fmt.Sprintf("m%03d", i),
			Config: DefaultConfig(), CompiledSQL: fmt.Sprintf("select %d -- \"q\" ü", i)}
		old.Nodes[n.ID] = n
	}
	// A key encoding/json may escape is encoded, never copied.
	old.Nodes["model.m100é\u2028"] = &Node{ID: "model.m100é\u2028", ResourceType: Model, Name: "m100é\u2028", Config: DefaultConfig()}
	old.BuildChildren()
	enc, err := EncodeChunks(old, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := enc.Bytes()
	at, lengths := enc.NodeMembers()
	spans := map[NodeID][2]int64{}
	pos := int64(at)
	for i, id := range old.IDs() {
		spans[id] = [2]int64{pos, pos + int64(lengths[i])}
		pos += int64(lengths[i]) + 1
	}
	// The new manifest shares every node but two, one changed, one new.
	cur := &Manifest{Nodes: map[NodeID]*Node{}, Metadata: Metadata{ProjectName: "p", InvocationID: "new"}}
	for id, n := range old.Nodes {
		cur.Nodes[id] = n
	}
	changed := *old.Nodes["model.m150"]
	changed.CompiledSQL = "select 'changed'"
	cur.Nodes["model.m150"] = &changed
	cur.Nodes["model.m150a"] = &Node{ID: "model.m150a", ResourceType: Model, Name: "m150a", Config: DefaultConfig()}
	cur.BuildChildren()
	want, err := EncodeChunks(cur, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := func(id NodeID) bool { return cur.Nodes[id] == old.Nodes[id] }
	shifted := map[NodeID][2]int64{}
	for id, s := range spans {
		shifted[id] = [2]int64{s[0] + 1, s[1] + 1}
	}
	cases := []struct {
		name     string
		file     []byte
		spans    map[NodeID][2]int64
		same     func(NodeID) bool
		wantRead bool
	}{
		{"copied", data, spans, same, true},
		{"shifted spans", data, shifted, same, false},
		{"other bytes", bytes.Repeat([]byte("x"), len(data)), spans, same, false},
		{"every node said changed", data, spans, func(NodeID) bool { return false }, false},
		{"changed node said unchanged", data, spans, func(NodeID) bool { return true }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(c.file)}
			got, err := EncodeChunks(cur, &Prior{File: r, Spans: c.spans, Same: c.same})
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "changed node said unchanged" {
				// Same is trusted: the stale member is copied. The caller
				// must say which nodes are unchanged.
				if string(got.Bytes()) == string(want.Bytes()) {
					t.Fatal("a stale member was not copied: Same is not what decides")
				}
				return
			}
			if string(got.Bytes()) != string(want.Bytes()) {
				t.Fatalf("encoding with a prior differs:\n got %.300s\nwant %.300s", got.Bytes(), want.Bytes())
			}
			if read := int(r.read.Load()); (read > len(data)/2) != c.wantRead || (got.Copied() > 0) != c.wantRead {
				t.Fatalf("read %d of %d bytes from the prior, copied %d members; want most copied: %v", read, len(data), got.Copied(), c.wantRead)
			}
			gat, gl := got.NodeMembers()
			wat, wl := want.NodeMembers()
			if gat != wat || !slices.Equal(gl, wl) {
				t.Fatalf("member offsets/lengths differ: %d %v, want %d %v", gat, gl, wat, wl)
			}
		})
	}
}

package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Encode renders m as manifest.json: indented two spaces, every object's
// keys sorted, ending in a newline, so two compiles of one project give
// byte-identical files.
func Encode(m *Manifest) ([]byte, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	// A round trip through generic values sorts struct fields as well as
	// map keys; UseNumber keeps numbers exactly as written.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ReadFile reads a manifest.json written by Encode, e.g. the one in the
// directory given to --state.
func ReadFile(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a valid manifest: %v — delete it and run elt compile again", path, err)
	}
	if m.Nodes == nil {
		m.Nodes = map[NodeID]*Node{}
	}
	return &m, nil
}

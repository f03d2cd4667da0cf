package manifest

import (
	"bytes"
	"encoding/json"
)

// UnitTestInfo is what a unit test (SPEC §6 unit_tests) runs: the model's
// SQL compiled against fixture tables instead of its real inputs, and the
// rows it must return.
type UnitTestInfo struct {
	// Expect are the rows the model must return; only their columns are
	// compared.
	Expect UnitRows `json:"expect"`
	// Given are the fixture inputs, one per ref() or source() the model
	// reads, in declaration order.
	Given []UnitInput `json:"given"`
	// Model is the model under test.
	Model NodeID `json:"model"`
}

// UnitInput is one fixture input of a unit test.
type UnitInput struct {
	// Input is the ref() or source() call as written.
	Input string `json:"input"`
	// Table is the fixture table the compiled SQL reads instead.
	Table string `json:"table"`
	// Relation is the real input's relation (or reader expression), whose
	// column types type the fixture when it exists in the database.
	Relation string `json:"relation,omitempty"`
	UnitRows
}

// UnitRows are fixture rows: a list of column→value maps, or CSV text
// with a header line.
type UnitRows struct {
	CSV  string           `json:"csv,omitempty"`
	Rows []map[string]any `json:"rows,omitempty"`
}

// MarshalJSON writes the input's members in the order of their keys, the
// embedded rows' among its own, as Encode needs.
func (in UnitInput) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		CSV      string           `json:"csv,omitempty"`
		Input    string           `json:"input"`
		Relation string           `json:"relation,omitempty"`
		Rows     []map[string]any `json:"rows,omitempty"`
		Table    string           `json:"table"`
	}{in.CSV, in.Input, in.Relation, in.Rows, in.Table})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

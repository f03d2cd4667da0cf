package manifest

// UnitTestInfo is what a unit test (SPEC §6 unit_tests) runs: the model's
// SQL compiled against fixture tables instead of its real inputs, and the
// rows it must return.
type UnitTestInfo struct {
	// Model is the model under test.
	Model NodeID `json:"model"`
	// Given are the fixture inputs, one per ref() or source() the model
	// reads, in declaration order.
	Given []UnitInput `json:"given"`
	// Expect are the rows the model must return; only their columns are
	// compared.
	Expect UnitRows `json:"expect"`
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
	Rows []map[string]any `json:"rows,omitempty"`
	CSV  string           `json:"csv,omitempty"`
}

package state

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// qualityTables hold column profiles, stored test failures and quarantine bookkeeping.
var qualityTables = []string{
	// column_profiles: one row per column of a model per successful build,
	// written in the build's transaction or, for a table no drift test
	// watches, right after it commits; the drift test reads the newest
	// taken by a build before the one that produced the model's data.
	`CREATE TABLE IF NOT EXISTS elt_state.column_profiles (
    run_id         VARCHAR NOT NULL,
    node_id        VARCHAR NOT NULL,
    column_name    VARCHAR NOT NULL,
    data_type      VARCHAR,
    row_count      BIGINT NOT NULL,
    null_rate      DOUBLE,
    mean           DOUBLE,
    min_value      VARCHAR,
    max_value      VARCHAR,
    distinct_count BIGINT,
    profiled_at    TIMESTAMP NOT NULL
)`,
}

// ColumnProfile is the profile of one column after a build. NullRate and
// Mean are NaN-free: nil means not applicable (Mean of a text column).
type ColumnProfile struct {
	Column        string
	DataType      string
	RowCount      int64
	NullRate      *float64
	Mean          *float64
	Min, Max      *string
	DistinctCount *int64
}

// InsertProfilesSQL is the INSERT recording the profiles of node nodeID
// built by run runID, with every value a literal; "" when there is none.
func InsertProfilesSQL(runID, nodeID string, at time.Time, profiles []ColumnProfile) string {
	return InsertNodeProfilesSQL(runID, []NodeProfiles{{NodeID: nodeID, At: at, Columns: profiles}})
}

// NodeProfiles are the column profiles of one node's build, taken at At.
type NodeProfiles struct {
	NodeID  string
	At      time.Time
	Columns []ColumnProfile
}

// InsertNodeProfilesSQL is one INSERT recording the profiles of several
// nodes of run runID, "" when there are none: one statement appends to the
// table once, where a statement per node would pay DuckDB's per-append
// cost each time.
func InsertNodeProfilesSQL(runID string, sets []NodeProfiles) string {
	var rows []string
	for _, set := range sets {
		for _, p := range set.Columns {
			rows = append(rows, "("+strings.Join([]string{
				quote(runID), quote(set.NodeID), quote(p.Column), quote(p.DataType), strconv.FormatInt(p.RowCount, 10),
				floatLit(p.NullRate), floatLit(p.Mean), strLit(p.Min), strLit(p.Max), intLit(p.DistinctCount), timestamp(set.At),
			}, ", ")+")")
		}
	}
	if len(rows) == 0 {
		return ""
	}
	return "INSERT INTO elt_state.column_profiles VALUES " + strings.Join(rows, ", ")
}

func floatLit(f *float64) string {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return "NULL"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func intLit(i *int64) string {
	if i == nil {
		return "NULL"
	}
	return strconv.FormatInt(*i, 10)
}

func strLit(s *string) string {
	if s == nil {
		return "NULL"
	}
	return quote(*s)
}

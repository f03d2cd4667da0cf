// Package materialize turns a node into the SQL statements that build it:
// a table from (materialization, strategy) to a pure builder function.
// Builders touch no database and are golden-tested; the runner executes the
// statements they return inside the node's transaction.
//
// Every builder follows write–audit–publish: Build creates the node's data
// under a staging name (or, for a view, the view itself), and Publish swaps
// the staging relation in. The runner runs both, with hooks and the node's
// state row, in one transaction, so a failure at any point leaves the
// previously published relation untouched and no staging relation behind;
// or, for a table whose build goes on to scan what it created, commits the
// staging table first and publishes it with the state row in a second
// transaction (see the runner's stagedBuild).
//
// A model's SQL follows "AS " on the statement's first line, so the line
// numbers DuckDB reports ("LINE 3:") are the lines of the compiled file.
package materialize

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// The kinds of relation a node's target may already be in the database.
const (
	ExistingNone  = ""
	ExistingTable = "table"
	ExistingView  = "view"
)

// StagingSuffix is appended to a relation's name to name its staging table.
const StagingSuffix = "__elt_tmp"

// Input is what a builder knows about one node.
type Input struct {
	// Resource is the node's type: manifest.Model or manifest.Seed.
	Resource manifest.ResourceType
	// Schema and Name are the unquoted target relation.
	Schema, Name string
	// SQL is a model's compiled SELECT.
	SQL string
	// Existing is what the target is in the database now: ExistingNone,
	// ExistingTable or ExistingView.
	Existing string
	// Config is the node's merged configuration.
	Config manifest.Config
	// SeedPath is a seed's CSV file, relative to the project directory.
	SeedPath string
	// FullRefresh is --full-refresh.
	FullRefresh bool
	// Now is the time the node runs at, in UTC: snapshots stamp the
	// versions they open and close with it.
	Now time.Time
	// BatchStart and BatchEnd bound a microbatch's interval, as
	// "YYYY-MM-DD HH:MM:SS" (start inclusive, end exclusive).
	BatchStart, BatchEnd string
	// Location is an external model's directory, absolute; WriteDir is the
	// absolute directory its files are written into before they are moved
	// under Location.
	Location, WriteDir string
	// KeyRange bounds the first column delete+insert and insert_overwrite
	// match on, over the batch's rows; nil leaves the DELETE unbounded.
	KeyRange *KeyRange
}

// KeyRange is the smallest and largest value of one column over a batch,
// as DuckDB renders them in VARCHAR. A DELETE bounded by constants lets
// DuckDB skip the row groups whose zone maps lie outside: a new day's
// delete+insert on a date-ordered 10M-row table fell from 55 to 10 ms.
type KeyRange struct {
	Column, Type string
	Min, Max     string
	// HasNull: some batch row has a NULL in Column, which matches NULL
	// target rows too.
	HasNull bool
}

// RangeType reports whether values of DuckDB type t survive a round trip
// through VARCHAR unchanged, so that a KeyRange over them is exact.
func RangeType(t string) bool {
	t = strings.ToUpper(strings.TrimSpace(t))
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
		"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "VARCHAR":
		return true
	}
	return strings.HasPrefix(t, "DECIMAL(")
}

// Plan is the statements of one node, in execution order.
type Plan struct {
	// Target is the quoted relation the node publishes; empty for
	// ephemeral models.
	Target string
	// Staging is the quoted relation Build creates and Publish swaps in;
	// empty when the node builds in place (views).
	Staging string
	// Build creates the node's data (under Staging when set).
	Build []string
	// Main is the index in Build of the statement running the node's own
	// SQL (a model's query, a seed's reader). DuckDB keeps an error's LINE
	// position only for a statement sent alone: the runner sends it alone
	// or, batched with others, re-runs it alone to locate a bind error
	// (warehouse.Conn.Diagnose). Meaningful only when Build is not empty.
	Main int
	// Publish makes the built data visible under Target.
	Publish []string
	// HasRows says whether Target holds rows worth counting (tables,
	// seeds), as opposed to a view or nothing.
	HasRows bool
	// MainCounts says that the Main statement creates Staging whole and
	// returns how many rows it wrote, which Publish makes Target's: when
	// Main is Build's last statement, the runner takes Target's row count
	// from it instead of counting Target.
	MainCounts bool
	// Incremental marks a plan whose Build makes a batch (Staging) and
	// whose Publish is left empty: the runner gets it from materialize.Publish
	// once it knows the target's and the batch's columns.
	Incremental bool
	// External is set for external models: Build writes files under
	// WriteDir, the runner moves them under Location, then Publish runs.
	External *External
}

// Statements returns Build followed by Publish.
func (p Plan) Statements() []string {
	return append(append([]string(nil), p.Build...), p.Publish...)
}

// Key selects a builder: a materialization and, for incremental models,
// a strategy. Seeds use Materialized "seed".
type Key struct {
	Materialized string
	Strategy     string
}

// Builder returns the plan of one node. It is pure: same input, same plan.
type Builder func(in Input) (Plan, error)

// ErrNotSupported is returned for materializations elt knows but does not
// build yet.
var ErrNotSupported = errors.New("not supported yet")

// builders is the table of every materialization elt builds. Later
// materializations (incremental strategies, snapshot, external) slot in as
// new keys.
var builders = map[Key]Builder{
	{Materialized: "view"}:      View,
	{Materialized: "table"}:     Table,
	{Materialized: "ephemeral"}: Ephemeral,
	{Materialized: "seed"}:      Seed,

	{Materialized: "incremental"}:                               Incremental,
	{Materialized: "incremental", Strategy: "append"}:           Incremental,
	{Materialized: "incremental", Strategy: "merge"}:            Incremental,
	{Materialized: "incremental", Strategy: "delete+insert"}:    Incremental,
	{Materialized: "incremental", Strategy: "insert_overwrite"}: Incremental,
	{Materialized: "incremental", Strategy: "microbatch"}:       Incremental,
	{Materialized: "external"}:                                  ExternalModel,
	{Materialized: "snapshot"}:                                  Snapshot,
}

// KeyOf returns the builder key of in: "seed" for seeds, else the model's
// materialization ("view" when unset) and, for incremental models, its
// strategy.
func KeyOf(in Input) Key {
	if in.Resource == manifest.Seed {
		return Key{Materialized: "seed"}
	}
	m := in.Config.Materialized
	if m == "" {
		m = "view"
	}
	k := Key{Materialized: m}
	if m == "incremental" {
		k.Strategy = in.Config.IncrementalStrategy
	}
	return k
}

// For returns the builder for k. A known but unbuilt materialization gives
// an error wrapping ErrNotSupported; an unknown one an error listing the
// known ones.
func For(k Key) (Builder, error) {
	if b, ok := builders[k]; ok {
		return b, nil
	}
	for _, m := range manifest.Materializations {
		if m == k.Materialized {
			if k.Strategy != "" {
				return nil, fmt.Errorf("materialized='%s' with incremental_strategy='%s' is %w", k.Materialized, k.Strategy, ErrNotSupported)
			}
			return nil, fmt.Errorf("materialized='%s' is %w", k.Materialized, ErrNotSupported)
		}
	}
	return nil, fmt.Errorf("unknown materialization %q — use one of %s", k.Materialized, strings.Join(manifest.Materializations, ", "))
}

// Build returns the plan of in with the builder its key selects.
func Build(in Input) (Plan, error) {
	b, err := For(KeyOf(in))
	if err != nil {
		return Plan{}, err
	}
	return b(in)
}

// CreateSchema returns the statement that creates schema when missing.
func CreateSchema(schema string) string {
	return "CREATE SCHEMA IF NOT EXISTS " + quoteIdent(schema)
}

// View builds a model as a view: CREATE OR REPLACE VIEW, after dropping a
// table of the same name (a table→view switch).
func View(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	target := relation(in.Schema, in.Name)
	var build []string
	if in.Existing == ExistingTable {
		build = append(build, "DROP TABLE IF EXISTS "+target)
	}
	build = append(build, "CREATE OR REPLACE VIEW "+target+" AS "+selectSQL(in.SQL))
	return Plan{Target: target, Build: build, Main: len(build) - 1}, nil
}

// Table builds a model as a table: CREATE TABLE staging AS <sql>, then drop
// the old relation (table or view) and rename staging to the target.
func Table(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	if strings.TrimSpace(in.SQL) == "" {
		return Plan{}, fmt.Errorf("model %s has no SQL — write a SELECT in its file", in.Name)
	}
	return swap(in, selectSQL(in.SQL)), nil
}

// Seed loads a seed's CSV into a table through a staging table, with
// header detection, the configured delimiter, and column_types overriding
// the detected types of the columns they name.
func Seed(in Input) (Plan, error) {
	if err := checkTarget(in); err != nil {
		return Plan{}, err
	}
	if in.SeedPath == "" {
		return Plan{}, fmt.Errorf("seed %s has no CSV path", in.Name)
	}
	args := []string{quoteString(in.SeedPath), "header = true"}
	if d := in.Config.Delimiter; d != "" {
		args = append(args, "delim = "+quoteString(d))
	}
	if len(in.Config.ColumnTypes) > 0 {
		cols := make([]string, 0, len(in.Config.ColumnTypes))
		for c := range in.Config.ColumnTypes {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		pairs := make([]string, len(cols))
		for i, c := range cols {
			pairs[i] = quoteString(c) + ": " + quoteString(in.Config.ColumnTypes[c])
		}
		args = append(args, "types = {"+strings.Join(pairs, ", ")+"}")
	}
	return swap(in, "SELECT * FROM read_csv("+strings.Join(args, ", ")+")"), nil
}

// Ephemeral builds nothing: the compiler inlines ephemeral models as CTEs.
func Ephemeral(Input) (Plan, error) { return Plan{}, nil }

// swap is the staging-and-rename plan shared by tables and seeds. The
// staging table is replaced, not dropped first: a statement less on every
// build (DuckDB's fixed cost per statement is most of a small table's).
func swap(in Input, query string) Plan {
	target := relation(in.Schema, in.Name)
	staging := relation(in.Schema, in.Name+StagingSuffix)
	p := Plan{
		Target:     target,
		Staging:    staging,
		HasRows:    true,
		MainCounts: true,
		Main:       0,
		Build:      []string{"CREATE OR REPLACE TABLE " + staging + " AS " + query},
	}
	switch in.Existing {
	case ExistingView:
		p.Publish = append(p.Publish, "DROP VIEW IF EXISTS "+target)
	case ExistingTable:
		p.Publish = append(p.Publish, "DROP TABLE IF EXISTS "+target)
	}
	p.Publish = append(p.Publish, "ALTER TABLE "+staging+" RENAME TO "+quoteIdent(in.Name))
	return p
}

func checkTarget(in Input) error {
	if in.Schema == "" || in.Name == "" {
		return fmt.Errorf("node has no target relation (schema %q, name %q)", in.Schema, in.Name)
	}
	switch in.Existing {
	case ExistingNone, ExistingTable, ExistingView:
		return nil
	}
	return fmt.Errorf("unknown existing relation kind %q", in.Existing)
}

// selectSQL trims trailing blanks and semicolons so the query can be
// wrapped in CREATE … AS.
func selectSQL(sql string) string {
	return strings.TrimRight(sql, " \t\r\n;")
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func relation(schema, name string) string { return quoteIdent(schema) + "." + quoteIdent(name) }

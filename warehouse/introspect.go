package warehouse

import (
	"context"
	"database/sql"
	"strings"
)

// Result is the complete answer of a query: column names and DuckDB types
// in select order, and every row with values as duckdb-go scans them
// (int32, int64, float64, string, bool, time.Time, nil, …).
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
}

// collect reads every row of rows and closes it.
func collect(ctx context.Context, rows *sql.Rows) (*Result, error) {
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	r := &Result{Columns: make([]string, len(cols)), Types: make([]string, len(cols))}
	for i, c := range cols {
		r.Columns[i] = c.Name()
		r.Types[i] = c.DatabaseTypeName()
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, ctxError(ctx, err)
		}
		r.Rows = append(r.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, ctxError(ctx, err)
	}
	return r, nil
}

// Kind is what a relation is in the database.
type Kind string

// The relation kinds.
const (
	KindTable Kind = "table"
	KindView  Kind = "view"
)

// RelationInfo is one table or view of the database.
type RelationInfo struct {
	// Relation is the quoted name "schema"."name", as manifests spell it.
	Relation string
	Schema   string
	Name     string
	Kind     Kind
}

// Relations returns every table and view of the database's own catalog
// (temporary and system objects excluded), keyed by quoted relation.
func (db *DB) Relations(ctx context.Context) (map[string]RelationInfo, error) {
	res, err := db.Query(ctx, `SELECT schema_name, table_name, 'table' FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary
UNION ALL
SELECT schema_name, view_name, 'view' FROM duckdb_views() WHERE database_name = current_database() AND NOT temporary AND NOT internal`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]RelationInfo, len(res.Rows))
	for _, row := range res.Rows {
		s, n, k := row[0].(string), row[1].(string), row[2].(string)
		rel := Relation(s, n)
		out[rel] = RelationInfo{Relation: rel, Schema: s, Name: n, Kind: Kind(k)}
	}
	return out, nil
}

// Column is one column of a relation.
type Column struct {
	Name string
	Type string // DuckDB's type, e.g. "BIGINT", "DECIMAL(10,2)"
}

// Columns returns the columns of relation (quoted "schema"."name", or any
// relation expression DESCRIBE accepts) in order.
func (db *DB) Columns(ctx context.Context, relation string) ([]Column, error) {
	res, err := db.Query(ctx, "SELECT column_name, column_type FROM (DESCRIBE "+relation+")")
	if err != nil {
		return nil, err
	}
	cols := make([]Column, len(res.Rows))
	for i, row := range res.Rows {
		cols[i] = Column{Name: row[0].(string), Type: row[1].(string)}
	}
	return cols, nil
}

// RowCount returns count(*) of relation.
func (db *DB) RowCount(ctx context.Context, relation string) (int64, error) {
	res, err := db.Query(ctx, "SELECT count(*) FROM "+relation)
	if err != nil {
		return 0, err
	}
	return toInt64(res.Rows[0][0]), nil
}

// toInt64 converts an integer value scanned by duckdb-go.
func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	case uint64:
		return int64(n)
	}
	return 0
}

// SplitRelation splits a quoted "schema"."name" into its unquoted parts;
// ok is false when relation is not of that form.
func SplitRelation(relation string) (schema, name string, ok bool) {
	parts, rest := []string{}, relation
	for len(parts) < 2 {
		if !strings.HasPrefix(rest, `"`) {
			return "", "", false
		}
		i, b := 1, strings.Builder{}
		for ; i < len(rest); i++ {
			if rest[i] == '"' {
				if i+1 < len(rest) && rest[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			b.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return "", "", false
		}
		parts = append(parts, b.String())
		rest = rest[i+1:]
		if len(parts) == 1 {
			if !strings.HasPrefix(rest, ".") {
				return "", "", false
			}
			rest = rest[1:]
		}
	}
	if rest != "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

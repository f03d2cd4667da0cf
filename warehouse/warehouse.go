// Package warehouse is elt's only door to DuckDB and the only importer of
// duckdb-go (the one cgo package of elt). It opens a database file with a
// target's settings, hands out connections that run one node each inside an
// explicit transaction, answers introspection questions (relations, columns,
// row counts, ad-hoc queries) and turns DuckDB's errors into values a caller
// can print: *Error for a failed statement, *LockError when another process
// holds the database file.
package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Memory is the path that opens an in-memory database.
const Memory = ":memory:"

// maxIdle is how many idle connections the pool keeps.
const maxIdle = 64

// Settings configure a database when it is opened. Zero values leave
// DuckDB's defaults in place.
type Settings struct {
	// Threads is DuckDB's worker thread count (SET threads).
	Threads int
	// MemoryLimit is DuckDB's memory_limit, e.g. "4GB".
	MemoryLimit string
	// Settings are any other DuckDB settings, applied with SET name = value
	// in name order. A value is quoted as a string literal unless it is a
	// number or a boolean.
	Settings map[string]string
	// ProjectDir is the project directory: a relative database path is
	// resolved against it, and DuckDB's file_search_path is set to it so
	// relative file paths in compiled SQL (sources, seeds) resolve against
	// the project whatever the working directory.
	ProjectDir string
}

// DB is an open DuckDB database. It is safe for concurrent use; each
// concurrent user takes its own connection with Conn.
type DB struct {
	sql       *sql.DB
	connector *duckdb.Connector
	// Path is the database path as given to Open (":memory:" or a file path).
	Path string
}

// Open opens (creating when missing) the DuckDB database at path and applies
// s. path is ":memory:" or a file path; a relative path is resolved against
// s.ProjectDir, and the file's parent directory is created. When another
// process holds the file, Open returns a *LockError.
func Open(ctx context.Context, path string, s Settings) (*DB, error) {
	dsn := path
	if path != Memory {
		if path == "" {
			return nil, fmt.Errorf("database path is empty — set targets.<name>.path in project.yaml or use %q", Memory)
		}
		full := path
		if !filepath.IsAbs(full) && s.ProjectDir != "" {
			full = filepath.Join(s.ProjectDir, full)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, fmt.Errorf("cannot create the directory of database %s: %w", path, err)
		}
		dsn = full
	}
	init, err := sessionSettings(s)
	if err != nil {
		return nil, err
	}
	connector, err := duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		for _, stmt := range init {
			if _, err := ex.ExecContext(context.Background(), stmt, nil); err != nil {
				return wrapError(err)
			}
		}
		return nil
	})
	if err != nil {
		if le := parseLockError(path, err); le != nil {
			return nil, le
		}
		return nil, fmt.Errorf("cannot open database %s: %w", path, wrapError(err))
	}
	db := &DB{sql: sql.OpenDB(connector), connector: connector, Path: path}
	// Keep connections (and their session settings) for parallel nodes
	// instead of reconnecting: database/sql keeps only 2 idle by default.
	db.sql.SetMaxIdleConns(maxIdle)
	if err := db.applyGlobal(ctx, s); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sessionSettings returns the statements every new connection runs:
// settings whose scope in DuckDB is the connection.
func sessionSettings(s Settings) ([]string, error) {
	if s.ProjectDir == "" {
		return nil, nil
	}
	dir, err := filepath.Abs(s.ProjectDir)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve project directory %s: %w", s.ProjectDir, err)
	}
	return []string{"SET file_search_path = " + QuoteString(dir)}, nil
}

// applyGlobal applies the database-wide settings of s.
func (db *DB) applyGlobal(ctx context.Context, s Settings) error {
	var stmts []string
	if s.Threads > 0 {
		stmts = append(stmts, fmt.Sprintf("SET threads = %d", s.Threads))
	}
	if s.MemoryLimit != "" {
		stmts = append(stmts, "SET memory_limit = "+QuoteString(s.MemoryLimit))
	}
	names := make([]string, 0, len(s.Settings))
	for k := range s.Settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !isIdent(k) {
			return fmt.Errorf("setting %q is not a valid DuckDB setting name — use letters, digits and underscores", k)
		}
		stmts = append(stmts, "SET "+k+" = "+settingValue(s.Settings[k]))
	}
	for _, stmt := range stmts {
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("cannot apply setting (%s): %w", stmt, wrapError(err))
		}
	}
	return nil
}

// settingValue renders v as a SQL literal: numbers and booleans bare,
// anything else quoted.
func settingValue(v string) string {
	switch strings.ToLower(v) {
	case "true", "false":
		return v
	}
	if v != "" && strings.Trim(v, "0123456789.") == "" && strings.Count(v, ".") <= 1 && v != "." {
		return v
	}
	return QuoteString(v)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Close closes the database and releases its file lock.
func (db *DB) Close() error {
	return db.sql.Close()
}

// Exec runs one or more statements on a pooled connection in autocommit
// mode. A failing statement leaves nothing open: the connection is
// discarded when DuckDB may have left a transaction behind.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Exec(ctx, query, args...)
}

// Query runs query on a pooled connection and returns every row.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Query(ctx, query, args...)
}

// QuoteIdent quotes a SQL identifier for DuckDB: "a""b".
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteString quotes a SQL string literal: 'it”s'.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Relation returns the quoted relation name "schema"."name".
func Relation(schema, name string) string {
	return QuoteIdent(schema) + "." + QuoteIdent(name)
}

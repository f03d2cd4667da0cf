package warehouse

import (
	"context"
	"database/sql"
)

// Stmt is a statement prepared once for repeated use, e.g. by the feature
// server's lookups. It is safe for concurrent use: database/sql prepares it
// again on each pooled connection that runs it. DuckDB binds it again by
// itself when a relation it reads was replaced.
type Stmt struct {
	s *sql.Stmt
}

// Prepare prepares query, one statement with ? parameters, on the pool.
func (db *DB) Prepare(ctx context.Context, query string) (*Stmt, error) {
	s, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	return &Stmt{s: s}, nil
}

// Query runs the statement with args in autocommit mode and returns every
// row, with errors wrapped as by Conn.Query.
func (s *Stmt) Query(ctx context.Context, args ...any) (*Result, error) {
	rows, err := s.s.QueryContext(ctx, args...)
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	return collect(ctx, rows)
}

// Close releases the statement on every connection that prepared it.
func (s *Stmt) Close() error {
	return s.s.Close()
}

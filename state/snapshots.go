package state

import (
	"context"
	"fmt"

	"github.com/elt-dev/elt/materialize"
)

// snapshotTables are none: a snapshot's history is its own table, and the
// tombstones of a CDC merge model live in a table per model,
// materialize.Tombstones(schema, name) in this schema, with the model's
// key columns (typed as the model's) and elt_deleted_at (typed as its
// updated_at). The model's plan creates that table and writes it in the
// node's transaction, so tombstones commit or roll back with the data.
var snapshotTables = []string{}

// TombstoneCount returns how many deleted keys the CDC merge model
// schema.name keeps tombstones for; 0 when it has no tombstone table.
func TombstoneCount(ctx context.Context, db DB, schema, name string) (int64, error) {
	var exists int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()
AND schema_name = ? AND table_name = ?`, Schema, schema+"__"+name+materialize.TombstoneSuffix).Scan(&exists); err != nil {
		return 0, fmt.Errorf("tombstones of %s.%s: %w", schema, name, err)
	}
	if exists == 0 {
		return 0, nil
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+materialize.Tombstones(schema, name)).Scan(&n); err != nil {
		return 0, fmt.Errorf("tombstones of %s.%s: %w", schema, name, err)
	}
	return n, nil
}

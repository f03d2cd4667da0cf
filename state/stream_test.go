package state_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// TestRecordStreamPositions checks both kinds of position: a landed
// file's is new, so it is only inserted (no DELETE scans the positions of
// every file read before); a Kafka partition's moves, so it replaces the
// partition's row.
func TestRecordStreamPositions(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	record := func(node string, replace bool, ps ...state.StreamPosition) string {
		t.Helper()
		sql := state.RecordStreamPositionsSQL(node, "r1", ps, at, replace)
		if err := inTx(t, db, func(tx *warehouse.Tx) error { return tx.Exec(ctx, sql) }); err != nil {
			t.Fatal(err)
		}
		return sql
	}
	files := record("model.s", false, state.StreamPosition{Key: "landing/a.jsonl", Offset: 10}, state.StreamPosition{Key: "landing/b.jsonl", Offset: 20})
	if strings.Contains(files, "DELETE") {
		t.Errorf("new keys deleted first: %s", files)
	}
	record("model.s", false, state.StreamPosition{Key: "landing/c.jsonl", Offset: 30})
	for _, off := range []int64{5, 7} {
		if sql := record("model.k", true, state.StreamPosition{Key: "kafka:t/0", Offset: off}); !strings.Contains(sql, "DELETE") {
			t.Errorf("a moving position is not replaced: %s", sql)
		}
	}
	if sql := state.RecordStreamPositionsSQL("model.s", "r1", nil, at, true); sql != "" {
		t.Errorf("no positions: %q", sql)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for node, want := range map[string]string{
		"model.s": "[{landing/a.jsonl 10} {landing/b.jsonl 20} {landing/c.jsonl 30}]",
		"model.k": "[{kafka:t/0 7}]",
	} {
		ps, err := state.StreamPositions(ctx, c, node)
		if err != nil || fmt.Sprint(ps) != want {
			t.Errorf("%s: positions %v, %v; want %s", node, ps, err, want)
		}
	}
}

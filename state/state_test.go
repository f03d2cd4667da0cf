package state_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

func openDB(t *testing.T) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(context.Background(), filepath.Join(t.TempDir(), "s.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func inTx(t *testing.T, db *warehouse.DB, fn func(tx *warehouse.Tx) error) error {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.InTx(context.Background(), fn)
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	for i := 0; i < 3; i++ {
		if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	res, err := db.Query(ctx, "select version from elt_state.schema_version order by 1")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != state.Version {
		t.Fatalf("schema_version rows = %v, want one per version (%d)", res.Rows, state.Version)
	}
	rels, err := db.Relations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{`"elt_state"."invocations"`, `"elt_state"."node_results"`, `"elt_state"."schema_version"`} {
		if _, ok := rels[r]; !ok {
			t.Errorf("missing %s", r)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "insert into elt_state.schema_version values (99, now())"); err != nil {
		t.Fatal(err)
	}
	err := inTx(t, db, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) })
	if err == nil || !strings.Contains(err.Error(), "version 99 is newer") {
		t.Fatalf("err = %v", err)
	}
}

func TestInvocationAndResults(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	err := inTx(t, db, func(tx *warehouse.Tx) error {
		if err := state.Migrate(ctx, tx); err != nil {
			return err
		}
		return state.StartInvocation(ctx, tx, state.Invocation{RunID: "r1", Command: "run", Started: start,
			Status: state.Running, Vars: map[string]any{"b": 1, "a": "x"}, Selector: "tag:daily"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A committed result is visible; a rolled-back one is not.
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.a", Status: "success",
			Rows: 7, Started: start, Completed: start.Add(time.Second), Fingerprint: "abc"})
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		if err := state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.b", Status: "success",
			Rows: -1, Started: start, Completed: start}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	err = inTx(t, db, func(tx *warehouse.Tx) error {
		return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.c", Status: "success",
			Rows: -1, Started: start, Completed: start, Message: "it's \"quoted\" — ünïcode\nline 2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for node, want := range map[string]bool{"model.a": true, "model.b": false, "model.c": true} {
		got, err := state.HasNodeResult(ctx, c, "r1", node)
		if err != nil || got != want {
			t.Errorf("HasNodeResult(%s) = %v, %v; want %v", node, got, err, want)
		}
	}
	rs, err := state.NodeResults(ctx, c, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].NodeID != "model.a" || rs[0].Rows != 7 || rs[0].Fingerprint != "abc" ||
		!rs[0].Completed.Equal(start.Add(time.Second)) || rs[1].NodeID != "model.c" || rs[1].Rows != -1 ||
		rs[1].Message != "it's \"quoted\" — ünïcode\nline 2" {
		t.Fatalf("NodeResults = %+v", rs)
	}

	end := start.Add(time.Minute)
	if err := state.FinishInvocation(ctx, c, "r1", state.Success, end); err != nil {
		t.Fatal(err)
	}
	inv, err := state.GetInvocation(ctx, c, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Status != state.Success || !inv.Completed.Equal(end) || !inv.Started.Equal(start) ||
		inv.Selector != "tag:daily" || inv.Vars["a"] != "x" || inv.Vars["b"] != float64(1) || inv.Command != "run" {
		t.Fatalf("invocation = %+v", inv)
	}
	res, err := c.Query(ctx, "select vars from elt_state.invocations")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != `{"a":"x","b":1}` {
		t.Errorf("vars json = %v", res.Rows[0][0])
	}
}

package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/state"
)

// cdcModel adds the CDC merge model "dim" reading main.changes (id, op,
// name, ts), deleting on op = 'D'.
func (f *fixture) cdcModel() *manifest.Node {
	n := f.model("dim", "incremental", "select * from main.changes")
	n.Config.IncrementalStrategy = "merge"
	n.Config.UniqueKey = []string{"id"}
	n.Config.UpdatedAt = "ts"
	n.Config.DeleteCondition = "op = 'D'"
	return n
}

// batch replaces the changes with rows (a VALUES list) and runs.
func (f *fixture) batch(rows string) {
	f.t.Helper()
	f.sql("DELETE FROM main.changes")
	if rows != "" {
		f.sql("INSERT INTO main.changes VALUES " + rows)
	}
	f.mustRun()
}

func TestCDCMerge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches []string
		want    string // id|name|ts of dim, by id
		tombs   int64
	}{
		{"first build drops deleted keys",
			[]string{"(1,'I','a',1),(2,'I','b',1),(2,'D','b',2)"}, "1|a|1;", 1},
		{"same key changed twice in one batch",
			[]string{"(1,'I','a',1)", "(1,'U','a3',3),(1,'U','a2',2)"}, "1|a3|3;", 0},
		{"out-of-order update never overwrites newer data",
			[]string{"(1,'I','a',5)", "(1,'U','old',4)"}, "1|a|5;", 0},
		{"delete then re-insert in one batch: the later wins",
			[]string{"(1,'I','a',1)", "(1,'D','a',2),(1,'I','back',3)"}, "1|back|3;", 0},
		{"re-insert then delete in one batch: the later wins",
			[]string{"(1,'I','a',1)", "(1,'I','back',3),(1,'D','a',4)"}, "", 1},
		{"delete and insert at the same time: the delete wins",
			[]string{"(1,'I','a',1)", "(1,'I','b',3),(1,'D','b',3)"}, "", 1},
		{"an old change after a delete never brings the key back",
			[]string{"(1,'I','a',1)", "(1,'D','a',5)", "(1,'U','late',4)", "(1,'I','late',5)"}, "", 1},
		{"a newer change after a delete brings the key back",
			[]string{"(1,'I','a',1)", "(1,'D','a',5)", "(1,'I','new',6)"}, "1|new|6;", 0},
		{"a delete older than the row is ignored",
			[]string{"(1,'I','a',5)", "(1,'D','a',4)"}, "1|a|5;", 1},
		{"replay changes nothing",
			[]string{"(1,'I','a',1),(2,'I','b',1),(3,'U','c',2),(2,'D','b',3)", "(1,'I','a',1),(2,'I','b',1),(3,'U','c',2),(2,'D','b',3)",
				"(1,'I','a',1),(2,'I','b',1),(3,'U','c',2),(2,'D','b',3)"}, "1|a|1;3|c|2;", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.sql("CREATE TABLE main.changes (id INTEGER, op VARCHAR, name VARCHAR, ts INTEGER)")
			f.cdcModel()
			for _, b := range tc.batches {
				f.batch(b)
			}
			if got := f.query("SELECT id, name, ts FROM main.dim ORDER BY id"); got != tc.want {
				t.Errorf("dim = %q, want %q", got, tc.want)
			}
			c, err := f.db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if n, err := state.TombstoneCount(context.Background(), c, "main", "dim"); err != nil || n != tc.tombs {
				t.Errorf("tombstones = %d (%v), want %d", n, err, tc.tombs)
			}
		})
	}
}

func TestCDCNullKeyIsAnError(t *testing.T) {
	for _, first := range []bool{true, false} {
		f := newFixture(t)
		f.sql("CREATE TABLE main.changes (id INTEGER, op VARCHAR, name VARCHAR, ts INTEGER)")
		f.cdcModel()
		if !first {
			f.batch("(1,'I','a',1)")
		}
		f.sql("DELETE FROM main.changes", "INSERT INTO main.changes VALUES (NULL,'I','x',2), (NULL,'I','y',3), (2,'I','b',2)")
		res, _ := f.exec(1)
		r := result(t, res, "model.dim")
		if r.Status != StatusError || !strings.Contains(r.Message, "rows have a NULL in unique_key (id)") {
			t.Fatalf("first=%v: status %s, message %q; want a NULL key error", first, r.Status, r.Message)
		}
		if !first {
			if got := f.query("SELECT id, name FROM main.dim"); got != "1|a;" {
				t.Errorf("a failed merge changed dim: %s", got)
			}
		}
	}
}

func TestCDCFullRefreshRebuildsTombstones(t *testing.T) {
	f := newFixture(t)
	f.sql("CREATE TABLE main.changes (id INTEGER, op VARCHAR, name VARCHAR, ts INTEGER)")
	f.cdcModel()
	f.batch("(1,'I','a',1),(2,'D','b',2)")
	f.sql("DELETE FROM main.changes", "INSERT INTO main.changes VALUES (2,'I','b',1)")
	res, _, err := f.execCtx(context.Background(), Options{Threads: 1, FullRefresh: true})
	if err != nil || res.Failed() {
		t.Fatalf("full refresh: %v %+v", err, res.Nodes)
	}
	if got := f.query("SELECT id, name FROM main.dim ORDER BY id"); got != "2|b;" {
		t.Errorf("dim after full refresh = %s", got)
	}
	if got := f.query(`SELECT count(*) FROM elt_state."main__dim__tombstones"`); got != "0;" {
		t.Errorf("tombstones after full refresh = %s, want 0", got)
	}
}

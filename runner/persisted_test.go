package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/state"
	"github.com/elt-dev/elt/warehouse"
)

// TestVerifyPersisted checks the check of a run's results: a result still
// in the journal and one another run filed into node_results before the
// check both count as persisted; a successful node with no result anywhere
// becomes an error; the journal is filed afterwards.
func TestVerifyPersisted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := time.Now()
	c, err := f.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	record := func(node string) {
		t.Helper()
		err := c.InTx(ctx, func(tx *warehouse.Tx) error {
			return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: node, Status: state.Success,
				Rows: 1, Started: start, Completed: start})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.InTx(ctx, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	record("model.filed")
	if err := c.Exec(ctx, "BEGIN; "+state.FoldJournalSQL+"; COMMIT"); err != nil {
		t.Fatal(err)
	}
	record("model.journaled")

	res := &RunResult{InvocationID: "r1", Nodes: []NodeResult{
		{NodeID: "model.filed", Status: StatusSuccess, Rows: 1},
		{NodeID: "model.journaled", Status: StatusSuccess, Rows: 1},
		{NodeID: "model.lost", Status: StatusSuccess, Rows: 1},
	}}
	if err := verifyPersisted(ctx, f.db, res); err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Nodes[:2] {
		if n.Status != StatusSuccess {
			t.Errorf("%s: %s %q; want success", n.NodeID, n.Status, n.Message)
		}
	}
	if lost := res.Nodes[2]; lost.Status != StatusError || !strings.Contains(lost.Message, "did not persist") {
		t.Errorf("model.lost: %s %q; want an error", lost.Status, lost.Message)
	}
	if rs, err := state.JournaledResults(ctx, c, "r1"); err != nil || len(rs) != 0 {
		t.Errorf("journal after the check: %+v, %v; want it filed", rs, err)
	}
	if rs, err := state.NodeResults(ctx, c, "r1"); err != nil || len(rs) != 2 {
		t.Errorf("node results: %+v, %v; want 2", rs, err)
	}
}

// TestVerifyPersistedReadsTheJournal checks that a run whose results are
// all in the journal is verified without reading node_results' history:
// with the views over it dropped, the check still succeeds.
func TestVerifyPersistedReadsTheJournal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.InTx(ctx, func(tx *warehouse.Tx) error { return state.Migrate(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = c.InTx(ctx, func(tx *warehouse.Tx) error {
		return state.InsertNodeResult(ctx, tx, state.NodeResult{RunID: "r1", NodeID: "model.a", Status: state.Success,
			Rows: 1, Started: now, Completed: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "DROP VIEW elt_state.row_counts; DROP VIEW "+state.AllResults); err != nil {
		t.Fatal(err)
	}
	res := &RunResult{InvocationID: "r1", Nodes: []NodeResult{{NodeID: "model.a", Status: StatusSuccess, Rows: 1}}}
	if err := verifyPersisted(ctx, f.db, res); err != nil {
		t.Fatalf("verifyPersisted read all of node_results: %v", err)
	}
	if n := res.Nodes[0]; n.Status != StatusSuccess {
		t.Errorf("model.a: %s %q; want success", n.Status, n.Message)
	}
}

package runner

import (
	"context"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
)

// TestStagedBuild: which nodes are built in two transactions. Only a
// table or seed plan that goes on to scan what it built (audit tests,
// quarantine statements after its main one, a drift profile), without
// hooks.
func TestStagedBuild(t *testing.T) {
	table := func(quarantine bool) materialize.Plan {
		cfg := manifest.Config{Materialized: "table"}
		if quarantine {
			cfg.Quarantine = []manifest.QuarantineRule{{Name: "pos", Condition: "x > 0"}}
		}
		p, err := materialize.BuildChecked(materialize.Input{Resource: manifest.Model, Schema: "main", Name: "t",
			SQL: "select 1 as x", Config: cfg}, "run")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	view, err := materialize.Build(materialize.Input{Resource: manifest.Model, Schema: "main", Name: "t",
		SQL: "select 1 as x", Config: manifest.Config{Materialized: "view"}})
	if err != nil {
		t.Fatal(err)
	}
	incremental := table(false)
	incremental.Incremental = true
	cases := []struct {
		name              string
		plan              materialize.Plan
		audits, drifted   bool
		preHook, postHook bool
		want              bool
	}{
		{"plain table", table(false), false, false, false, false, false},
		{"table with audits", table(false), true, false, false, false, true},
		{"table with quarantine", table(true), false, false, false, false, true},
		{"drift-watched table", table(false), false, true, false, false, true},
		{"audits and a pre_hook", table(false), true, false, true, false, false},
		{"audits and a post_hook", table(false), true, false, false, true, false},
		{"view with audits", view, true, false, false, false, false},
		{"incremental with audits", incremental, true, false, false, false, false},
	}
	for _, c := range cases {
		n := &manifest.Node{ID: "model.t", ResourceType: manifest.Model, Config: manifest.Config{Materialized: "table"}}
		if c.preHook {
			n.Config.PreHook = []string{"select 1"}
		}
		if c.postHook {
			n.Config.PostHook = []string{"select 1"}
		}
		r := &run{audits: auditTests{}, drifted: map[manifest.NodeID]bool{n.ID: c.drifted}}
		if c.audits {
			r.audits[n.ID] = []*manifest.Node{{ID: "test.t"}}
		}
		if got := r.stagedBuild(n, c.plan); got != c.want {
			t.Errorf("%s: stagedBuild = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestDropLeftStaging: a run drops the staging tables its project's
// models left behind (a run killed between a staged build's two
// transactions), selected or not, and keeps any other table of that form.
func TestDropLeftStaging(t *testing.T) {
	f := newFixture(t)
	a := f.model("a", "table", "select 1 as x")
	b := f.model("b", "table", "select 2 as y")
	// A model whose own name has the staging form: c's staging name is
	// its relation, which must never be dropped.
	f.model("c", "view", "select 3 as z")
	f.model("c__elt_tmp", "table", "select 4 as w")
	ctx := context.Background()
	if err := f.db.Exec(ctx, `CREATE TABLE main.a__elt_tmp AS SELECT 1 AS x; CREATE TABLE main.foo__elt_tmp AS SELECT 1 AS x;
CREATE TABLE main.c__elt_tmp AS SELECT 4 AS w`); err != nil {
		t.Fatal(err)
	}
	res, _ := f.exec(2, b.ID)
	if res.Failed() {
		t.Fatalf("%+v", res.Nodes)
	}
	got := f.query(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%elt_tmp' ORDER BY 1`)
	if got != "c__elt_tmp;foo__elt_tmp;" {
		t.Fatalf("staging tables after the run: %q, want c__elt_tmp (a model's own table) and foo__elt_tmp (no node foo); a's (%s) is dropped", got, a.ID)
	}
}

package runner

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

func driftTestOf(f *fixture, parent *manifest.Node) *manifest.Node {
	name := "drift_" + parent.Name
	n := &manifest.Node{
		ID: manifest.TestID(name), ResourceType: manifest.Test, Name: name,
		Config:      manifest.Config{Enabled: true, Severity: "error"},
		DependsOn:   []manifest.NodeID{parent.ID},
		CompiledSQL: "select 1 from " + parent.Relation + " where false",
		TestInfo:    &manifest.TestInfo{TestType: "generic", TestName: "drift", AttachedNode: parent.ID},
	}
	f.m.Nodes[n.ID] = n
	return n
}

// Many tables built in parallel, a quarter watched by a drift test
// (profile INSERT inside the build's transaction), half profiled by the
// profiler (config profile), a quarter not profiled: no conflicts, every
// profile asked for stored once per run, and no other.
func TestProfilerProfilerConcurrentWithInTxProfiles(t *testing.T) {
	f := newFixture(t)
	const n = 40
	for i := 0; i < n; i++ {
		a := f.model(fmt.Sprintf("a%02d", i), "table", fmt.Sprintf("select range as id, range %% 7 as k, 'x' || range as s from range(%d)", 2000+i))
		if i%2 == 0 {
			driftTestOf(f, a)
		}
		b := f.model(fmt.Sprintf("b%02d", i), "table", "select id, k from "+a.Relation, a.ID)
		b.Config.Profile = true
	}
	for run := 1; run <= 3; run++ {
		res, _ := f.exec(4)
		if res.Failed() || len(res.Warnings) > 0 {
			for _, r := range res.Nodes {
				if r.Status != StatusSuccess && r.Status != StatusPass {
					t.Logf("%s %s %s", r.NodeID, r.Status, r.Message)
				}
			}
			t.Fatalf("run %d failed or warned: %v", run, res.Warnings)
		}
		got := f.query(fmt.Sprintf(`SELECT count(DISTINCT node_id), count(*) FROM elt_state.column_profiles WHERE run_id = 'run-%d'`, run))
		want := fmt.Sprintf("%d|%d;", n/2+n, n/2*3+n*2)
		if got != want {
			t.Fatalf("run %d: profiles = %s, want %s", run, got, want)
		}
	}
}

// SIGINT while profiles are queued: no warnings are reported for the
// dropped profiles.
func TestProfilerCancelWithQueuedProfiles(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 12; i++ {
		t := f.model(fmt.Sprintf("t%02d", i), "table", "select range as id, range::varchar as s, range * 1.5 as d from range(500000)")
		t.Config.Profile = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ends atomic.Int32
	// cancel after 3 nodes ended
	f.run++
	opts := Options{Threads: 2, InvocationID: fmt.Sprintf("run-%d", f.run), Command: "run", ProjectDir: f.dir}
	opts.OnEvent = func(e Event) {
		if e.Kind == NodeEnd && ends.Add(1) == 3 {
			cancel()
		}
	}
	res, err := Run(ctx, f.db, f.m, f.all(), opts)
	t.Logf("err=%v warnings=%q", err, res.Warnings)
	stored := f.query(fmt.Sprintf(`SELECT count(DISTINCT node_id) FROM elt_state.column_profiles WHERE run_id = '%s'`, opts.InvocationID))
	succ := 0
	for _, r := range res.Nodes {
		if r.Status == StatusSuccess {
			succ++
		}
	}
	t.Logf("successful nodes %d, profiles stored %s", succ, stored)
	for _, w := range res.Warnings {
		if strings.Contains(w, "not stored") {
			t.Errorf("warning on cancel: %s", w)
		}
	}
}

// TestProfilesWithHooksTakenInBuild: a hook may write a table built
// earlier in the run while its profile waits in the profiler's queue, so a
// run whose nodes have hooks profiles every table inside its build: the
// profile is the one the build published, even when a later post_hook
// replaces the table.
func TestProfilesWithHooksTakenInBuild(t *testing.T) {
	f := newFixture(t)
	a := f.model("a", "table", "select range as id from range(1000)")
	a.Config.Profile = true
	b := f.model("b", "view", "select 1 as x", a.ID)
	b.Config.PostHook = []string{"CREATE OR REPLACE TABLE main.a AS SELECT 'replaced' AS other_col"}
	res, _ := f.exec(2)
	if res.Failed() || len(res.Warnings) > 0 {
		t.Fatalf("%+v %v", res.Nodes, res.Warnings)
	}
	if got := f.query(`SELECT column_name, row_count FROM elt_state.column_profiles WHERE node_id = 'model.a'`); got != "id|1000;" {
		t.Fatalf("profile of a = %q; a's build published column id with 1000 rows", got)
	}
	if !anyHooks(f.m, f.all()) {
		t.Fatal("anyHooks missed b's post_hook")
	}
}

package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

// TestProfilesTakenAfterCommit: tables whose config says profile, and no
// drift test watches, are profiled by the profiler once their builds
// committed; the run returns only after their profiles are stored. Views
// get none, and neither do tables without profile.
func TestProfilesTakenAfterCommit(t *testing.T) {
	f := newFixture(t)
	a := f.model("a", "table", "select range as id, 'x' || range as name, [range] as l from range(5)")
	b := f.model("b", "table", "select id * 2 as id from "+a.Relation, a.ID)
	v := f.model("v", "view", "select * from "+b.Relation, b.ID)
	f.model("c", "table", "select * from "+b.Relation, b.ID)
	a.Config.Profile, b.Config.Profile, v.Config.Profile = true, true, true
	res, _ := f.exec(4)
	if res.Failed() || len(res.Warnings) > 0 {
		t.Fatalf("run failed or warned: %+v %v", res.Nodes, res.Warnings)
	}
	got := f.query(`SELECT node_id, column_name, row_count, min_value, max_value
		FROM elt_state.column_profiles WHERE run_id = 'run-1' ORDER BY node_id, column_name`)
	want := "model.a|id|5|0|4;model.a|l|5|<nil>|<nil>;model.a|name|5|x0|x4;model.b|id|5|0|8;"
	if got != want {
		t.Fatalf("profiles = %s\nwant       %s", got, want)
	}
	if got, want := f.query(`SELECT node_id, rows_read, rows_written FROM elt_state.row_counts WHERE run_id = 'run-1' ORDER BY 1`),
		"model.a|5|5;model.b|5|5;model.c|5|5;"; got != want {
		t.Fatalf("row_counts = %s, want %s", got, want)
	}
}

// TestProfilerBatchKeepsGoodProfiles: a profile that fails is a warning
// naming its node, and the other profiles of its batch are still stored.
func TestProfilerBatchKeepsGoodProfiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.Exec(ctx, "CREATE TABLE main.good AS SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	res, _ := f.exec(1, f.model("init", "view", "select 1 as y").ID) // creates elt_state
	if res.Failed() {
		t.Fatalf("%+v", res.Nodes)
	}
	good := &manifest.Node{ID: "model.good", Name: "good", Schema: "main", Alias: "good", Config: manifest.Config{Materialized: "table"}}
	gone := &manifest.Node{ID: "model.gone", Name: "gone", Schema: "main", Alias: "gone", Config: manifest.Config{Materialized: "table"}}
	p := newProfiler(ctx, f.db, "run-p", 4)
	p.add(gone, `"main"."gone"`)
	p.add(good, `"main"."good"`)
	warnings := p.Wait()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "column profile of model.gone not stored") {
		t.Fatalf("warnings = %q", warnings)
	}
	if got, want := f.query(`SELECT node_id, column_name, row_count FROM elt_state.column_profiles WHERE run_id = 'run-p'`),
		"model.good|x|1;"; got != want {
		t.Fatalf("profiles = %s, want %s", got, want)
	}
}

// TestNumericType: lists of numbers have no mean; before, a BIGINT[]
// column made the profile's CAST fail, and with it the build of a model a
// drift test watches.
func TestNumericType(t *testing.T) {
	for typ, want := range map[string]bool{
		"BIGINT": true, "DECIMAL(10,2)": true, "DOUBLE": true, "HUGEINT": true,
		"BIGINT[]": false, "DECIMAL(10,2)[3]": false, "VARCHAR": false, "STRUCT(a INTEGER)": false, "DATE": false,
	} {
		if got := numericType(typ); got != want {
			t.Errorf("numericType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// TestProfiledNodes: which nodes are profiled after a build. A drift test
// makes any node with a table profiled; else only tables, seeds,
// incremental models and snapshots whose config says profile.
func TestProfiledNodes(t *testing.T) {
	node := func(rt manifest.ResourceType, mat string, profile bool) *manifest.Node {
		return &manifest.Node{ID: manifest.NodeID("x." + mat), ResourceType: rt,
			Config: manifest.Config{Materialized: mat, Profile: profile}}
	}
	cases := []struct {
		n       *manifest.Node
		drifted bool
		target  string
		want    bool
	}{
		{node(manifest.Model, "table", false), false, "t", false},
		{node(manifest.Model, "table", true), false, "t", true},
		{node(manifest.Model, "table", false), true, "t", true},
		{node(manifest.Model, "table", true), false, "", false},
		{node(manifest.Seed, "seed", true), false, "t", true},
		{node(manifest.Seed, "seed", false), false, "t", false},
		{node(manifest.Model, "incremental", true), false, "t", true},
		{node(manifest.Model, "snapshot", true), false, "t", true},
		{node(manifest.Model, "view", true), false, "t", false},
		{node(manifest.Model, "view", false), true, "t", true},
		{node(manifest.Model, "external", true), false, "t", false},
		{node(manifest.Model, "ephemeral", true), false, "", false},
	}
	for _, c := range cases {
		r := &run{drifted: map[manifest.NodeID]bool{c.n.ID: c.drifted}}
		if got := r.profiled(c.n, c.target); got != c.want {
			t.Errorf("%s %s profile=%v drifted=%v target=%q: profiled = %v, want %v",
				c.n.ResourceType, c.n.Config.Materialized, c.n.Config.Profile, c.drifted, c.target, got, c.want)
		}
	}
}

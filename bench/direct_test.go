package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/selector"
	"github.com/elt-dev/elt/warehouse"
)

// directPlan is what DuckDB alone would run for a project: the statements
// of every node elt builds, taken from elt's own target/manifest.json and
// materialized exactly as the runner does, in one valid build order.
type directPlan struct {
	schemas []string
	batches []string // one per node: its statements joined as the runner joins them
	tests   []string // data test queries, when elt's build ran tests
	nodes   int
}

// loadDirectPlan reads dir/target/manifest.json (written by an elt run in
// dir) and returns the direct plan of its seeds and non-ephemeral models,
// plus its tests when withTests is set.
func loadDirectPlan(tb testing.TB, dir string, withTests bool) *directPlan {
	tb.Helper()
	m, err := manifest.ReadFile(filepath.Join(dir, "target", "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	order, err := selector.Graph(m).TopoSort()
	if err != nil {
		tb.Fatal(err)
	}
	// Models may keep bookkeeping in elt_state (CDC tombstones).
	p := &directPlan{schemas: []string{materialize.CreateSchema("elt_state")}}
	schemas := map[string]bool{"elt_state": true}
	for _, id := range order {
		n := m.Nodes[manifest.NodeID(id)]
		switch {
		case n.ResourceType == manifest.Test && withTests:
			// Unit tests run on fixtures in their own database, and drift
			// tests read elt's own state: neither exists for DuckDB alone.
			if n.TestInfo != nil && (n.TestInfo.TestType == "unit" || n.TestInfo.TestName == "drift") {
				continue
			}
			if strings.TrimSpace(n.CompiledSQL) != "" {
				p.tests = append(p.tests, "select count(*) from (\n"+n.CompiledSQL+"\n)")
			}
			continue
		case n.ResourceType == manifest.Seed:
		case n.ResourceType == manifest.Model && n.Config.Materialized != "ephemeral":
		default:
			continue
		}
		sql := n.CompiledSQL
		if n.IsMicrobatch() {
			// DuckDB alone would build a microbatch model in one pass over
			// all time: open the batch bounds wide.
			sql = strings.NewReplacer(manifest.BatchStartToken, "0001-01-01 00:00:00",
				manifest.BatchEndToken, "9999-12-31 00:00:00").Replace(sql)
		}
		cfg := n.Config
		if n.IsStream() {
			// DuckDB alone would build a stream model as one table over
			// every landed file: read the stream source's files directly.
			for _, dep := range n.DependsOn {
				if d := m.Nodes[dep]; d != nil && d.IsStreamSource() {
					sql = strings.ReplaceAll(sql, manifest.StreamEventsToken, d.Relation)
				}
			}
			cfg.Materialized = "table"
		}
		in := materialize.Input{Resource: n.ResourceType, Schema: n.Schema, Name: n.Alias,
			SQL: sql, Config: cfg}
		if in.Schema == "" || in.Name == "" {
			s, a, _ := warehouse.SplitRelation(n.Relation)
			in.Schema, in.Name = s, a
		}
		if n.Seed != nil {
			in.SeedPath = n.Seed.Path
		}
		if n.Config.Materialized == "external" {
			// DuckDB alone would COPY straight into the location; elt
			// writes beside it and renames, which costs only renames.
			loc := filepath.FromSlash(materialize.ExternalLocation(n.Config.Location, in.Name))
			if !filepath.IsAbs(loc) {
				loc = filepath.Join(dir, loc)
			}
			in.Location, in.WriteDir = loc, loc
		}
		plan, err := materialize.Build(in)
		if err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
		if !schemas[in.Schema] && in.Schema != "main" {
			schemas[in.Schema] = true
			p.schemas = append(p.schemas, materialize.CreateSchema(in.Schema))
		}
		p.batches = append(p.batches, strings.Join(plan.Statements(), "\n;\n"))
		p.nodes++
	}
	return p
}

// run executes the plan on a fresh database file in one process and one
// connection, node after node, and returns the wall time from opening the
// database to closing it (as an elt process does).
func (p *directPlan) run(tb testing.TB, projectDir, dbFile string) time.Duration {
	tb.Helper()
	ctx := context.Background()
	removeDB(tb, dbFile)
	t0 := time.Now()
	db, err := warehouse.Open(ctx, dbFile, warehouse.Settings{ProjectDir: projectDir})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, list := range [][]string{p.schemas, p.batches, p.tests} {
		for _, q := range list {
			if err := c.Exec(ctx, q); err != nil {
				tb.Fatalf("direct: %v\n%s", err, tail(q, 500))
			}
		}
	}
	c.Close()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return time.Since(t0)
}

// ranTests reports whether elt's last run in dir executed data tests, read
// from target/run_results.json, so the direct run does the same work.
func ranTests(tb testing.TB, dir string) bool {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "target", "run_results.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var rr struct {
		Results []struct {
			UniqueID string `json:"unique_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &rr); err != nil {
		tb.Fatal(err)
	}
	for _, r := range rr.Results {
		if strings.HasPrefix(r.UniqueID, "test.") {
			return true
		}
	}
	return false
}

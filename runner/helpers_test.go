package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// fixture is a project directory, its database and a manifest built in Go.
type fixture struct {
	t   *testing.T
	dir string
	db  *warehouse.DB
	m   *manifest.Manifest
	run int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := warehouse.Open(context.Background(), "target/test.duckdb", warehouse.Settings{ProjectDir: dir, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}}
	m.Metadata.ProjectName = "p"
	m.Metadata.ProjectDir = dir
	return &fixture{t: t, dir: dir, db: db, m: m}
}

// model adds (or replaces) a model; deps are node ids.
func (f *fixture) model(name, materialized, sql string, deps ...manifest.NodeID) *manifest.Node {
	sort.Slice(deps, func(i, j int) bool { return deps[i] < deps[j] })
	n := &manifest.Node{
		ID: manifest.ModelID(name), ResourceType: manifest.Model, Name: name,
		Path: "models/" + name + ".sql", Pos: diag.Pos{File: "models/" + name + ".sql", Line: 1},
		Config:    manifest.Config{Enabled: true, Materialized: materialized},
		DependsOn: deps, Schema: "main", Alias: name,
		CompiledSQL: sql, CompiledPath: "target/compiled/p/models/" + name + ".sql",
		Fingerprint: "fp-" + name,
	}
	if materialized != "ephemeral" {
		n.Relation = warehouse.Relation("main", name)
	} else {
		n.Schema, n.Alias = "", ""
	}
	f.m.Nodes[n.ID] = n
	return n
}

// seed adds a seed whose CSV content is written to seeds/<name>.csv.
func (f *fixture) seed(name, csv string, types map[string]string) *manifest.Node {
	path := "seeds/" + name + ".csv"
	f.write(path, csv)
	n := &manifest.Node{
		ID: manifest.SeedID(name), ResourceType: manifest.Seed, Name: name, Path: path,
		Config: manifest.Config{Enabled: true, ColumnTypes: types}, Schema: "main", Alias: name,
		Relation: warehouse.Relation("main", name), Seed: &manifest.SeedInfo{Path: path},
	}
	f.m.Nodes[n.ID] = n
	return n
}

// source adds a file source read with read_csv.
func (f *fixture) source(src, table, glob string) *manifest.Node {
	n := &manifest.Node{
		ID: manifest.SourceID(src, table), ResourceType: manifest.Source, Name: table,
		Path: "models/sources.yml", Pos: diag.Pos{File: "models/sources.yml", Line: 5},
		Relation: fmt.Sprintf("read_csv('%s', hive_partitioning=true, header=true)", glob),
		Source:   &manifest.SourceInfo{SourceName: src, TableName: table, Path: glob, Format: "csv", HivePartitioning: true},
	}
	f.m.Nodes[n.ID] = n
	return n
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// all returns every node id of the manifest.
func (f *fixture) all() []manifest.NodeID { return f.m.IDs() }

// exec runs the selected nodes (all when none) and returns the result and
// the events received.
func (f *fixture) exec(threads int, sel ...manifest.NodeID) (*RunResult, []Event) {
	f.t.Helper()
	res, ev, err := f.execCtx(context.Background(), Options{Threads: threads}, sel...)
	if err != nil {
		f.t.Fatal(err)
	}
	return res, ev
}

func (f *fixture) execCtx(ctx context.Context, opts Options, sel ...manifest.NodeID) (*RunResult, []Event, error) {
	f.t.Helper()
	if sel == nil {
		sel = f.all()
	}
	f.run++
	var mu sync.Mutex
	var events []Event
	opts.InvocationID = fmt.Sprintf("run-%d", f.run)
	opts.Command = "run"
	opts.ProjectDir = f.dir
	opts.OnEvent = func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	res, err := Run(ctx, f.db, f.m, sel, opts)
	return res, events, err
}

// result returns the result of node id in res.
func result(t *testing.T, res *RunResult, id manifest.NodeID) NodeResult {
	t.Helper()
	for _, n := range res.Nodes {
		if n.NodeID == id {
			return n
		}
	}
	t.Fatalf("no result for %s in %+v", id, res.Nodes)
	return NodeResult{}
}

// query returns the rows of q rendered as one string.
func (f *fixture) query(q string) string {
	f.t.Helper()
	r, err := f.db.Query(context.Background(), q)
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	var b strings.Builder
	for _, row := range r.Rows {
		for i, v := range row {
			if i > 0 {
				b.WriteString("|")
			}
			b.WriteString(fmt.Sprint(v))
		}
		b.WriteString(";")
	}
	return b.String()
}

// kinds returns "name:kind" of every relation outside elt_state, sorted.
func (f *fixture) kinds() string {
	f.t.Helper()
	rels, err := f.db.Relations(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range rels {
		if r.Schema != "elt_state" {
			out = append(out, r.Schema+"."+r.Name+":"+string(r.Kind))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/elt-dev/elt/bench/gen"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/runner"
	"github.com/elt-dev/elt/warehouse"
)

// perNodeBudget is the budget for elt's own cost per node.
const perNodeBudget = 2 * time.Millisecond

// perNodeShape is one per-node overhead scenario: many trivial models over
// one base model. DuckDB refuses views nested deeper than about 500, so
// the views fan out of one base table, and the deep case is a chain of
// small tables.
type perNodeShape struct {
	name string
	opts gen.ProjectOptions
}

func perNodeShapes(n int) []perNodeShape {
	return []perNodeShape{
		{fmt.Sprintf("views=%d", n), gen.ProjectOptions{Models: n, Shape: gen.Fan, Materialized: "view", BaseRows: 1000}},
		{fmt.Sprintf("chain=%d", n), gen.ProjectOptions{Models: n, Shape: gen.Chain, Materialized: "table", BaseRows: 100}},
	}
}

// perNodeResult holds the wall times of the three ways of building one
// project: elt run as a process, runner.Run in this process on elt's
// manifest, and the same statements sent to DuckDB directly.
type perNodeResult struct {
	nodes                int
	elt, inProc, direct  []time.Duration
	eltCPU               []time.Duration
	projectDir, database string
}

// measurePerNode builds the project of shape rounds times each way, each
// time on a fresh database file.
func measurePerNode(tb testing.TB, s perNodeShape, rounds int) *perNodeResult {
	dir := cached(tb, "pernode-"+s.name, func(dir string) {
		if _, err := gen.Project(dir, s.opts); err != nil {
			tb.Fatal(err)
		}
	})
	r := &perNodeResult{projectDir: dir, database: filepath.Join(dir, "target", "bench.duckdb")}
	ctx := context.Background()
	for i := 0; i < rounds; i++ {
		removeDB(tb, r.database)
		p := runElt(tb, dir, "run")
		r.elt, r.eltCPU = append(r.elt, p.wall), append(r.eltCPU, p.cpu)

		plan := loadDirectPlan(tb, dir, false)
		r.nodes = plan.nodes
		r.direct = append(r.direct, plan.run(tb, dir, filepath.Join(dir, "target", "direct.duckdb")))

		m, err := manifest.ReadFile(filepath.Join(dir, "target", "manifest.json"))
		if err != nil {
			tb.Fatal(err)
		}
		dbFile := filepath.Join(dir, "target", "inproc.duckdb")
		removeDB(tb, dbFile)
		t0 := time.Now()
		db, err := warehouse.Open(ctx, dbFile, warehouse.Settings{ProjectDir: dir})
		if err != nil {
			tb.Fatal(err)
		}
		res, err := runner.Run(ctx, db, m, m.IDs(), runner.Options{Threads: 4, InvocationID: fmt.Sprint("bench-", i),
			Command: "run", ProjectDir: dir, TargetDir: filepath.Join(dir, "target")})
		if err != nil || res.Failed() {
			tb.Fatalf("runner.Run: %v (failed: %v)", err, res != nil && res.Failed())
		}
		db.Close()
		r.inProc = append(r.inProc, time.Since(t0))
	}
	return r
}

// report logs and reports the per-node numbers: each way's wall time per
// node, and elt's overhead per node over direct DuckDB, for the process
// (everything a user waits for: start, compile, artifacts, state) and for
// runner.Run alone.
func (r *perNodeResult) report(tb testing.TB, name string) {
	perNode := func(ds []time.Duration) samples {
		s := seconds(ds)
		for i := range s {
			s[i] = s[i] * 1000 / float64(r.nodes)
		}
		return s
	}
	diff := func(a, b []time.Duration) []time.Duration {
		out := make([]time.Duration, len(a))
		for i := range a {
			out[i] = a[i] - b[i]
		}
		return out
	}
	overhead := perNode(diff(r.elt, r.direct))
	inProcOverhead := perNode(diff(r.inProc, r.direct))
	reportLine(tb, "per-node "+name, "runs", len(r.elt), "nodes", r.nodes,
		"direct ms/node", perNode(r.direct).format(3), "elt run ms/node", perNode(r.elt).format(3),
		"runner.Run ms/node", perNode(r.inProc).format(3),
		"overhead ms/node (elt run − direct)", overhead.format(3),
		"overhead ms/node (runner.Run − direct)", inProcOverhead.format(3),
		"ratio elt/direct", fmt.Sprintf("%.2f", seconds(r.elt).median()/seconds(r.direct).median()),
		"overhead/budget", fmt.Sprintf("%.2f", overhead.median()/(perNodeBudget.Seconds()*1000)),
		"elt cpu s", seconds(r.eltCPU).format(2))
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(perNode(r.direct).median(), "direct-ms/node")
		b.ReportMetric(perNode(r.elt).median(), "elt-ms/node")
		b.ReportMetric(overhead.median(), "overhead-ms/node")
		b.ReportMetric(inProcOverhead.median(), "runner-overhead-ms/node")
	}
}

// BenchmarkPerNode compares building 1,000 trivial views over one base
// table, and a chain of 1,000 small tables, with elt and with DuckDB alone.
func BenchmarkPerNode(b *testing.B) {
	for _, s := range perNodeShapes(1000) {
		b.Run(s.name, func(b *testing.B) {
			r := measurePerNode(b, s, b.N)
			b.StopTimer()
			r.report(b, s.name)
		})
	}
}

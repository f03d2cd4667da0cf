package bench

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/elt-dev/elt/bench/gen"
)

// pipelineBudget is the budget: elt build of the example at most
// 5% slower than its compiled SQL run directly.
const pipelineBudget = 1.05

// churnProject writes (once per process) a copy of the example churn
// project with raw feeds of about rows rows, written by the project's own
// generate_sample_data macro with more users, so the layout, late rows and
// duplicates are the example's.
func churnProject(tb testing.TB, rows int) string {
	return cached(tb, fmt.Sprintf("churn-%d", rows), func(dir string) {
		runElt(tb, dir, "init", ".")
		runElt(tb, dir, "run-operation", "generate_sample_data", "--args", gen.ChurnFeedsArgs(rows))
	})
}

// pipelineResult is the wall times of elt build and of the direct run.
type pipelineResult struct {
	rows, nodes int
	tests       bool
	elt, direct []time.Duration
	eltCPU      []time.Duration
	eltRSS      []int64
	sourceRows  string
}

// measurePipeline builds the example at about rows raw rows rounds times
// with `elt build` and with its compiled SQL sent directly to DuckDB, each
// on a fresh database file, after the disk settled (neither pays for the
// other's writes, nor the first for the generated data's). The first round
// runs elt first (the direct plan is read from its manifest); later rounds
// alternate which goes first.
func measurePipeline(tb testing.TB, rows, rounds int) *pipelineResult {
	dir := churnProject(tb, rows)
	db := filepath.Join(dir, "target", "churn.duckdb")
	r := &pipelineResult{rows: rows}
	var plan *directPlan
	build := func() {
		removeDB(tb, db)
		settleDisk()
		p := runElt(tb, dir, "build")
		r.elt, r.eltCPU, r.eltRSS = append(r.elt, p.wall), append(r.eltCPU, p.cpu), append(r.eltRSS, p.maxRSS)
		if plan == nil {
			r.tests = ranTests(tb, dir)
			plan = loadDirectPlan(tb, dir, r.tests)
			r.nodes = plan.nodes
		}
	}
	direct := func() {
		file := filepath.Join(dir, "target", "direct.duckdb")
		removeDB(tb, file)
		settleDisk()
		r.direct = append(r.direct, plan.run(tb, dir, file))
	}
	for i := 0; i < rounds; i++ {
		if i%2 == 0 {
			build()
			direct()
		} else {
			direct()
			build()
		}
	}
	return r
}

func (r *pipelineResult) report(tb testing.TB) {
	e, d := seconds(r.elt), seconds(r.direct)
	ratio := e.median() / d.median()
	reportLine(tb, fmt.Sprintf("pipeline rows=%d", r.rows), "runs", len(r.elt), "nodes", r.nodes, "tests run", r.tests,
		"elt build s", e.format(3), "direct s", d.format(3), "ratio elt/direct", fmt.Sprintf("%.3f", ratio),
		"ratio/budget", fmt.Sprintf("%.3f", ratio/pipelineBudget), "elt cpu s", seconds(r.eltCPU).format(2),
		"elt peak RSS MiB", fmt.Sprint(slicesMax(r.eltRSS)>>20))
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(e.median(), "elt-s")
		b.ReportMetric(d.median(), "direct-s")
		b.ReportMetric(ratio, "elt/direct")
	}
}

// BenchmarkPipeline builds the example churn pipeline over 1M and 10M raw
// events with elt build and with the same compiled SQL run directly, in
// sequence, in one DuckDB process.
func BenchmarkPipeline(b *testing.B) {
	for _, rows := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("events=%dM", rows/1_000_000), func(b *testing.B) {
			b.StopTimer()
			churnProject(b, rows)
			b.StartTimer()
			r := measurePipeline(b, rows, b.N)
			b.StopTimer()
			r.report(b)
		})
	}
}

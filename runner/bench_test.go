package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/warehouse"
)

// cpuTime returns the CPU time this process has used, all threads.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// viewsManifest is a base table model and n trivial views over it.
func viewsManifest(n int) *manifest.Manifest {
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}}
	add := func(name, mat, sql string, deps ...manifest.NodeID) {
		m.Nodes[manifest.ModelID(name)] = &manifest.Node{
			ID: manifest.ModelID(name), ResourceType: manifest.Model, Name: name,
			Config: manifest.Config{Materialized: mat}, DependsOn: deps, Schema: "main", Alias: name,
			Relation: warehouse.Relation("main", name), CompiledSQL: sql,
			CompiledPath: "target/compiled/bench/models/" + name + ".sql",
		}
	}
	add("base", "table", "select range as id, range % 7 as k from range(1000)")
	for i := 0; i < n; i++ {
		add(fmt.Sprintf("v%04d", i), "view", `select id, k from "main"."base" where k = 3`, manifest.ModelID("base"))
	}
	return m
}

// BenchmarkRun1000Views compares elt's Run of 1,000 views over one base
// model with executing the same CREATE statements directly through
// database/sql on one connection, each on a fresh database file. It reports
// direct-ms/node, elt-ms/node and overhead-ms/node (wall clock, elt minus
// direct; the budget is 2 ms), and the process CPU time of both, which a
// busy machine disturbs less than wall time.
//
//	go test ./runner -run '^$' -bench Run1000Views -benchtime 3x
func BenchmarkRun1000Views(b *testing.B) {
	const n = 1000
	for _, threads := range []int{1, 4} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			ctx := context.Background()
			m := viewsManifest(n)
			ids := m.IDs()
			var stmts []string
			for _, id := range ids {
				node := m.Nodes[id]
				p, err := materialize.Build(materialize.Input{Resource: manifest.Model, Schema: "main", Name: node.Name,
					SQL: node.CompiledSQL, Config: node.Config})
				if err != nil {
					b.Fatal(err)
				}
				stmts = append(stmts, p.Statements()...)
			}
			if ids[0] != "model.base" {
				b.Fatal("model.base must sort first so the direct run builds it first")
			}
			var direct, elt, directCPU, eltCPU time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dirA, dirB := b.TempDir(), b.TempDir()
				dbA, err := warehouse.Open(ctx, filepath.Join(dirA, "a.duckdb"), warehouse.Settings{Threads: 2})
				if err != nil {
					b.Fatal(err)
				}
				c, err := dbA.Conn(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				for _, s := range stmts {
					if err := c.Exec(ctx, s); err != nil {
						b.Fatal(err)
					}
				}
				direct += time.Since(t0)
				directCPU += cpuTime() - c0
				b.StopTimer()
				c.Close()
				dbA.Close()

				dbB, err := warehouse.Open(ctx, filepath.Join(dirB, "b.duckdb"), warehouse.Settings{Threads: 2})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0, c0 = time.Now(), cpuTime()
				res, err := Run(ctx, dbB, m, ids, Options{Threads: threads, InvocationID: fmt.Sprint("bench-", i), Command: "run"})
				elt += time.Since(t0)
				eltCPU += cpuTime() - c0
				b.StopTimer()
				if err != nil || res.Failed() || len(res.Nodes) != n+1 {
					b.Fatalf("run: %v failed=%v nodes=%d", err, res.Failed(), len(res.Nodes))
				}
				dbB.Close()
				b.StartTimer()
			}
			perNode := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(n+1) / 1e6 }
			b.ReportMetric(perNode(direct), "direct-ms/node")
			b.ReportMetric(perNode(elt), "elt-ms/node")
			b.ReportMetric(perNode(elt-direct), "overhead-ms/node")
			b.ReportMetric(perNode(directCPU), "direct-cpu-ms/node")
			b.ReportMetric(perNode(eltCPU), "elt-cpu-ms/node")
		})
	}
}

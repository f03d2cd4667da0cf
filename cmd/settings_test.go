package cmd

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestTargetThreadsAreNodeConcurrency: a target's threads set how many
// nodes run at once, not DuckDB's worker threads, which keep DuckDB's
// default (one per core) unless the target's settings name threads.
func TestTargetThreadsAreNodeConcurrency(t *testing.T) {
	for _, c := range []struct {
		name, settings string
		want           int
	}{
		{"default", "", runtime.NumCPU()},
		{"explicit", "\n    settings: {threads: 1}", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeProject(t, map[string]string{
				"project.yaml": "name: th\ntargets:\n  dev:\n    path: target/th.duckdb\n    threads: 7" + c.settings + "\n",
				"models/m.sql": "select 1 as x",
			})
			out := mustElt(t, dir, "show", "--inline", "select current_setting('threads') as t", "--quiet")
			if want := fmt.Sprintf("| %d |", c.want); !strings.Contains(strings.ReplaceAll(out, " ", ""), strings.ReplaceAll(want, " ", "")) {
				t.Fatalf("DuckDB threads: got\n%s\nwant %s", out, want)
			}
		})
	}
}

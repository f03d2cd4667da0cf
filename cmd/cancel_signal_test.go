//go:build unix

package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// helperEnv makes the test binary act as elt: TestEltProcess runs Main on
// the arguments after "--", with real signal handling.
const helperEnv = "ELT_TEST_HELPER_PROCESS"

func TestEltProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("only runs as a subprocess of the cancel tests")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// eltProcess starts elt with args in a subprocess; its combined output
// goes to out.
func eltProcess(t *testing.T, out *syncBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestEltProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// slowProject has a and b (fast tables whose content depends on var v) and
// zz, which reads a and takes as long as var n makes it.
func slowProject(t *testing.T) string {
	return writeProject(t, map[string]string{
		"project.yaml": "name: slow\nvars: {v: 1, n: 10}\n",
		"models/a.sql": "{{ config(materialized='table') }}\nselect i, i * {{ var('v') }} as x from range(1000) t(i)\n",
		"models/b.sql": "{{ config(materialized='table') }}\nselect sum(x) as s from {{ ref('a') }}\n",
		"models/zz.sql": "{{ config(materialized='table') }}\n" +
			"select count(*) as n, {{ var('v') }} as v from {{ ref('a') }}, range({{ var('n') }}) t(j) where (i * j) % 7 = 3\n",
	})
}

// contentHashes returns a hash of every row of each relation.
func contentHashes(t *testing.T, dir string, rels ...string) map[string]string {
	t.Helper()
	db, err := warehouse.Open(context.Background(), filepath.Join(dir, "target", "slow.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	for _, r := range rels {
		res, err := db.Query(context.Background(), fmt.Sprintf(
			"select md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), '')) from main.%s t", r))
		if err != nil {
			t.Fatal(err)
		}
		out[r] = fmt.Sprint(res.Rows[0][0])
	}
	return out
}

// queryOne returns the rows of q on the project's database as text.
func queryRows(t *testing.T, dir, q string) string {
	t.Helper()
	db, err := warehouse.Open(context.Background(), filepath.Join(dir, "target", "slow.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(res.Rows)
}

// runUntilStarted starts `elt run` with vars and waits until zz starts.
func runUntilStarted(t *testing.T, dir string, out *syncBuffer, vars string) *exec.Cmd {
	t.Helper()
	cmd := eltProcess(t, out, "run", "--project-dir", dir, "--threads", "1", "--vars", vars)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "START sql table model main.zz") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("zz never started:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let zz's query run in DuckDB
	return cmd
}

// TestSIGINTKeepsPublished sends SIGINT to a real elt process while zz
// runs: elt exits 130 promptly, a and b (published in this run) keep this
// run's content, zz keeps the content of the last successful run, and
// elt_state records the run as cancelled with results for a and b only.
func TestSIGINTKeepsPublished(t *testing.T) {
	dir := slowProject(t)
	var out syncBuffer
	if err := eltProcess(t, &out, "run", "--project-dir", dir).Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out.String())
	}
	before := contentHashes(t, dir, "a", "b", "zz")

	var out2 syncBuffer
	cmd := runUntilStarted(t, dir, &out2, "{v: 2, n: 100000000000}")
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitCancelled {
		t.Fatalf("exit %v, want status %d\n%s", err, ExitCancelled, out2.String())
	}
	if d := time.Since(sent); d > 10*time.Second {
		t.Errorf("took %v to stop after SIGINT", d)
	}
	if !strings.Contains(out2.String(), "cancelled") {
		t.Errorf("output does not say cancelled:\n%s", out2.String())
	}
	after := contentHashes(t, dir, "a", "b", "zz")
	if after["zz"] != before["zz"] {
		t.Errorf("zz changed although its build was cancelled: %s → %s", before["zz"], after["zz"])
	}
	if after["a"] == before["a"] || after["b"] == before["b"] {
		t.Errorf("a and b were published before the cancel but kept their old content")
	}
	// a and b hold exactly what a successful run with v=2 builds.
	var out3 syncBuffer
	if err := eltProcess(t, &out3, "run", "--project-dir", dir, "-s", "a", "b", "--vars", "{v: 2}").Wait(); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out3.String())
	}
	again := contentHashes(t, dir, "a", "b")
	if again["a"] != after["a"] || again["b"] != after["b"] {
		t.Errorf("a, b after cancel %v differ from a clean run with the same vars %v", after, again)
	}
	// State: the cancelled run is recorded, with results for a and b only.
	got := queryRows(t, dir, `select i.status, h.status, h.nodes_total,
  (select string_agg(node_id, ' ' order by node_id) from elt_state.node_results r where r.run_id = i.run_id)
from elt_state.invocations i join elt_state.run_history h using (run_id)
order by i.started_at`)
	if want := "[[success success 3 model.a model.b model.zz] [cancelled cancelled 3 model.a model.b] [success success 2 model.a model.b]]"; got != want {
		t.Errorf("state\n got %s\nwant %s", got, want)
	}
}

// TestSecondSIGINTExitsAtOnce sends SIGINT twice: the process ends at once
// (killed by the second signal), and the database opens afterwards with
// the last published data and a consistent state: a later run works.
func TestSecondSIGINTExitsAtOnce(t *testing.T) {
	dir := slowProject(t)
	var out syncBuffer
	if err := eltProcess(t, &out, "run", "--project-dir", dir).Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out.String())
	}
	before := contentHashes(t, dir, "zz")
	var out2 syncBuffer
	cmd := runUntilStarted(t, dir, &out2, "{v: 3, n: 100000000000}")
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(20 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("a second SIGINT did not end the process:\n%s", out2.String())
	}
	if d := time.Since(sent); d > 5*time.Second {
		t.Errorf("took %v to exit after the second SIGINT", d)
	}
	if after := contentHashes(t, dir, "zz"); after["zz"] != before["zz"] {
		t.Errorf("zz changed: %v → %v", before, after)
	}
	// Every table holds what its latest recorded result says: b's sum
	// matches a's content.
	if got := queryRows(t, dir, "select (select sum(x) from main.a) = (select s from main.b)"); got != "[[true]]" {
		t.Errorf("a and b disagree after a hard stop: %s", got)
	}
	var out3 syncBuffer
	if err := eltProcess(t, &out3, "run", "--project-dir", dir).Wait(); err != nil {
		t.Fatalf("run after a hard stop: %v\n%s", err, out3.String())
	}
}

// TestScheduleSignals runs the scheduler daemon in a real process: SIGTERM
// while a slot's run executes interrupts it (exit 130, the run recorded as
// cancelled with its job); SIGTERM while idle stops it cleanly (exit 0).
func TestScheduleSignals(t *testing.T) {
	dir := slowProject(t)
	yaml := "name: slow\nvars: {v: 1, n: 10}\njobs:\n" +
		"  slow: {schedule: \"* * * * *\", command: run --threads 1, vars: {v: 2, n: 100000000000}}\n" +
		"  fast: {schedule: \"* * * * *\", command: run -s a}\n"
	if err := os.WriteFile(filepath.Join(dir, "project.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := eltProcess(t, &out, "schedule", "--job", "slow", "--project-dir", dir)
	waitFor(t, &out, "START sql table model main.zz")
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitCancelled {
		t.Fatalf("exit %v, want %d\n%s", err, ExitCancelled, out.String())
	}
	if !strings.Contains(out.String(), "cancelled after") || !strings.Contains(out.String(), "it stays due") {
		t.Errorf("output does not report the cancelled slot:\n%s", out.String())
	}
	if got := queryRows(t, dir, "select job, status, trigger from elt_state.run_history"); got != "[[slow cancelled schedule]]" {
		t.Errorf("history %s", got)
	}

	var out2 syncBuffer
	cmd = eltProcess(t, &out2, "schedule", "--job", "fast", "--project-dir", dir)
	waitFor(t, &out2, "Waiting for the next slot at")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stop while idle: %v\n%s", err, out2.String())
	}
	if !strings.Contains(out2.String(), "Stopped.") || !strings.Contains(out2.String(), "Job fast: slot ") {
		t.Errorf("output:\n%s", out2.String())
	}
}

// waitFor waits up to a minute for s in out.
func waitFor(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never printed:\n%s", s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

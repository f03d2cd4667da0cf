package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elt-dev/elt/warehouse"
)

const reusedMessage = "Reused the last compile"

func compiledSQL(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "target", "compiled", "models", name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPartialParseCaseProjectYAMLHookVolatile: a folder-default post_hook
// in project.yaml that renders invocation_id makes every compile fresh, so
// the hook always carries the current invocation's id.
func TestPartialParseCaseProjectYAMLHookVolatile(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: hk\nmodels:\n  +post_hook: \"select '{{ invocation_id }}' as id\"\n",
		"models/m.sql": "select 1 as x",
	})
	mustElt(t, dir, "compile")
	out := mustElt(t, dir, "compile")
	var m struct {
		Metadata struct {
			InvocationID string `json:"invocation_id"`
		} `json:"metadata"`
		Nodes map[string]struct {
			Config struct {
				PostHook []string `json:"post_hook"`
			} `json:"config"`
		} `json:"nodes"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "target", "manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	hook := fmt.Sprint(m.Nodes["model.m"].Config.PostHook)
	if !strings.Contains(hook, m.Metadata.InvocationID) {
		t.Fatalf("reused=%v: post_hook %s does not hold this invocation's id %s (a fresh compile's would)",
			strings.Contains(out, reusedMessage), hook, m.Metadata.InvocationID)
	}
}

// TestPartialParseCaseFullRefreshFalseLost: config(full_refresh=false)
// survives a reused compile (gob drops pointers to zero values; the record
// restores them), so --full-refresh still leaves the model alone.
func TestPartialParseCaseFullRefreshFalseLost(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":   "name: fr\n",
		"models/inc.sql": "{{ config(materialized='incremental', full_refresh=false) }}\nselect 1 as x",
	})
	count := func() string {
		t.Helper()
		db, err := warehouse.Open(context.Background(), filepath.Join(dir, "target", "fr.duckdb"), warehouse.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		res, err := db.Query(context.Background(), "select count(*) from inc")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows[0][0])
	}
	mustElt(t, dir, "run") // creates: 1 row
	mustElt(t, dir, "run") // appends: 2 rows
	if n := count(); n != "2" {
		t.Skipf("the incremental model does not append (%s rows)", n)
	}
	mustElt(t, dir, "run", "--full-refresh") // fresh compile (--full-refresh is in the key): protected, 3 rows
	if n := count(); n != "3" {
		t.Fatalf("a fresh compile already rebuilds the protected model (%s rows)", n)
	}
	out := mustElt(t, dir, "run", "--full-refresh") // reused compile
	if n := count(); n != "4" {
		t.Fatalf("inc has %s rows, want 4: the second --full-refresh (a reused compile) rebuilt the full_refresh=false model\n%s", n, out)
	}
}

// TestPartialParseCaseVarsIntVsFloat: --vars are fingerprinted with their
// types: {n: 1} and {n: 1.0} render differently and are not confused.
func TestPartialParseCaseVarsIntVsFloat(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: vf\n",
		"models/v.sql": "select '{{ var(\"n\") }}' as n",
	})
	mustElt(t, dir, "compile", "--vars", "{n: 1}")
	want := compiledSQL(t, dir, "v")
	mustElt(t, dir, "compile", "--vars", "{n: 1.0}", "--no-partial-parse")
	fresh := compiledSQL(t, dir, "v")
	if fresh == want {
		t.Skip("1 and 1.0 render alike")
	}
	mustElt(t, dir, "compile", "--vars", "{n: 1}")
	out := mustElt(t, dir, "compile", "--vars", "{n: 1.0}")
	b, _ := os.ReadFile(filepath.Join(dir, "target", "manifest.json"))
	if !strings.Contains(string(b), strings.TrimSpace(fresh)) {
		t.Fatalf("--vars '{n: 1.0}' (reused=%v) gave the SQL of {n: 1}; fresh compile gives %q\n%s",
			strings.Contains(out, reusedMessage), fresh, out)
	}
}

// TestPartialParseCaseRunQueryTypeChange: run_query results are compared
// with their types: a column retyped from INTEGER 1 to DOUBLE 1.0 renders
// differently and compiles again.
func TestPartialParseCaseRunQueryTypeChange(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":   "name: rqt\n",
		"models/src.sql": "{{ config(materialized='table') }}select 1 as n",
	})
	mustElt(t, dir, "run", "-s", "src")
	if err := os.WriteFile(filepath.Join(dir, "models", "m.sql"), []byte(
		"{% set r = run_query('select max(n) as n from src') %}select '{{ r.rows[0][0] }}' as n"), 0o644); err != nil {
		t.Fatal(err)
	}
	retype := func(sql string) {
		t.Helper()
		db, err := warehouse.Open(context.Background(), filepath.Join(dir, "target", "rqt.duckdb"), warehouse.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Query(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	mustElt(t, dir, "compile", "--no-partial-parse")
	before := compiledSQL(t, dir, "m")
	retype("create or replace table src as select 1.0::double as n")
	mustElt(t, dir, "compile", "--no-partial-parse")
	fresh := compiledSQL(t, dir, "m")
	if fresh == before {
		t.Skip("INTEGER 1 and DOUBLE 1.0 render alike")
	}
	retype("create or replace table src as select 1 as n")
	mustElt(t, dir, "compile") // recorded: the INTEGER answer
	retype("create or replace table src as select 1.0::double as n")
	out := mustElt(t, dir, "compile")
	if got := compiledSQL(t, dir, "m"); got != fresh {
		t.Fatalf("reused=%v: m = %q, a fresh compile gives %q\n%s", strings.Contains(out, reusedMessage), got, fresh, out)
	}
}

// TestPartialParseCaseRandomFilterFrozen: gonja's random filter makes a
// compile volatile: it is never reused.
func TestPartialParseCaseRandomFilterFrozen(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: rnd\n",
		"models/r.sql": "select {{ range(1000000) | list | random }} as r",
	})
	mustElt(t, dir, "compile")
	if out := mustElt(t, dir, "compile"); strings.Contains(out, reusedMessage) {
		t.Fatalf("a compile using the random filter was reused:\n%s", out)
	}
}

// TestPartialParseCaseCompiledDirNotRestored: a reuse writes again the
// compiled SQL files someone removed.
func TestPartialParseCaseCompiledDirNotRestored(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: cd\n",
		"models/m.sql": "select 1 as x",
	})
	mustElt(t, dir, "compile")
	if err := os.RemoveAll(filepath.Join(dir, "target", "compiled")); err != nil {
		t.Fatal(err)
	}
	out := mustElt(t, dir, "compile")
	if _, err := os.Stat(filepath.Join(dir, "target", "compiled", "models", "m.sql")); err != nil {
		t.Fatalf("reused=%v: target/compiled/models/m.sql missing after elt compile: %v", strings.Contains(out, reusedMessage), err)
	}
}

// TestPartialParseCaseNullVar: a null project var is recorded and reused
// without a warning.
func TestPartialParseCaseNullVar(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: nv\nvars:\n  x: ~\n",
		"models/m.sql": "select 1 as x",
	})
	out1 := mustElt(t, dir, "compile")
	out2 := mustElt(t, dir, "compile")
	if strings.Contains(out1, "could not record") || !strings.Contains(out2, reusedMessage) {
		t.Fatalf("a null var defeats partial parsing:\n%s\n%s", out1, out2)
	}
}

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

// TestPartialParse drives elt compile through every input a compile
// depends on: each change compiles again and gives the new SQL; an
// unchanged project reuses the last compile, whose SQL stays right.
func TestPartialParse(t *testing.T) {
	t.Setenv("ELT_PP_TEST", "")
	os.Unsetenv("ELT_PP_TEST")
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: pp\n",
		"models/a.sql": "select '{{ env_var(\"ELT_PP_TEST\", \"dflt\") }}' as v",
		"models/b.sql": "select * from {{ ref('a') }}",
		"models/inc.sql": "{{ config(materialized='incremental') }}\nselect 1 as x" +
			"{% if is_incremental() %} where x > (select max(x) from {{ this }}){% endif %}",
		"models/v.sql": "select {{ var('n', 1) }} as n",
	})
	compiled := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "target", "compiled", "models", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	step := func(what string, reused bool, args ...string) string {
		t.Helper()
		out := mustElt(t, dir, append([]string{"compile"}, args...)...)
		if got := strings.Contains(out, "Reused the last compile"); got != reused {
			t.Fatalf("%s: reused = %v, want %v\n%s", what, got, reused, out)
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, "target", "*.tmp")); len(tmp) > 0 {
			t.Fatalf("%s: temporary files left in target/: %v", what, tmp)
		}
		return out
	}
	step("first compile", false)
	if _, err := os.Stat(filepath.Join(dir, "target", "partial_parse.gob")); err != nil {
		t.Fatalf("no record after a compile: %v", err)
	}
	step("unchanged", true)
	if !strings.Contains(compiled("a"), "'dflt'") {
		t.Fatalf("a = %s", compiled("a"))
	}
	manifest := filepath.Join(dir, "target", "manifest.json")

	t.Setenv("ELT_PP_TEST", "from env")
	step("env_var changed", false)
	if !strings.Contains(compiled("a"), "'from env'") {
		t.Fatalf("a = %s", compiled("a"))
	}
	step("env_var unchanged", true)

	editFile(t, filepath.Join(dir, "models", "b.sql"), "select *", "select v")
	step("model changed", false)
	if !strings.Contains(compiled("b"), "select v from") {
		t.Fatalf("b = %s", compiled("b"))
	}
	step("vars changed", false, "--vars", "{n: 2}")
	if !strings.Contains(compiled("v"), "select 2 as n") {
		t.Fatalf("v = %s", compiled("v"))
	}
	step("vars unchanged", true, "--vars", "{n: 2}")
	step("vars back", false)

	// Building inc makes is_incremental() true.
	mustElt(t, dir, "run")
	step("relation now exists", false)
	if !strings.Contains(compiled("inc"), "where x >") {
		t.Fatalf("inc = %s", compiled("inc"))
	}
	step("relation still exists", true)
	step("full refresh", false, "--full-refresh")
	if strings.Contains(compiled("inc"), "where x >") {
		t.Fatalf("inc under --full-refresh = %s", compiled("inc"))
	}
	step("no full refresh", false)

	// A reused compile rewrites only the manifest's metadata.
	after, _ := os.ReadFile(manifest)
	if len(after) == 0 || strings.Contains(string(after), `"invocation_id":""`) {
		t.Fatalf("manifest without invocation id: %.200s", after)
	}

	step("--no-partial-parse", false, "--no-partial-parse")
	if _, err := os.Stat(filepath.Join(dir, "target", "partial_parse.gob")); !os.IsNotExist(err) {
		t.Fatalf("--no-partial-parse left a record: %v", err)
	}
	step("after --no-partial-parse", false)
	step("recorded again", true)

	// A manifest.json that is not the one the compile wrote is not trusted.
	if err := os.WriteFile(manifest, append(after, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	step("manifest edited", false)
	step("manifest rewritten", true)

	// A run after a reused compile builds the same models.
	out := mustElt(t, dir, "run")
	if !strings.Contains(out, "PASS=4") {
		t.Fatalf("run after reuse:\n%s", out)
	}
}

// TestPartialParseVolatile: a compile whose SQL changes by itself — one
// that renders run_started_at or invocation_id, in a model or in a macro it
// calls — is never reused; a macro that mentions them but is not called
// does not matter.
func TestPartialParseVolatile(t *testing.T) {
	for name, model := range map[string]string{
		"run_started_at":       "select '{{ run_started_at }}' as at",
		"invocation_id":        "select '{{ invocation_id }}' as id",
		"macro called":         "select '{{ stamp() }}' as id",
		"run_query that fails": "{% set r = run_query('select * from nowhere') %}select 1 as x",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeProject(t, map[string]string{"project.yaml": "name: vol\n", "models/m.sql": model,
				"macros/stamp.sql": "{% macro stamp() %}{{ invocation_id }}{% endmacro %}"})
			if name == "run_query that fails" {
				// A failing run_query fails the compile: nothing to record.
				if code, _ := elt(t, dir, "compile"); code == 0 {
					t.Fatal("compile succeeded")
				}
				if _, err := os.Stat(filepath.Join(dir, "target", "partial_parse.json")); !os.IsNotExist(err) {
					t.Fatalf("a failed compile left a record: %v", err)
				}
				return
			}
			mustElt(t, dir, "run")
			for i := 0; i < 2; i++ {
				if out := mustElt(t, dir, "compile"); strings.Contains(out, "Reused the last compile") {
					t.Fatalf("compile %d reused a volatile compile:\n%s", i+1, out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "target", "partial_parse.gob")); !os.IsNotExist(err) {
				t.Fatalf("a volatile compile left a record: %v", err)
			}
		})
	}
	t.Run("macro not called", func(t *testing.T) {
		dir := writeProject(t, map[string]string{"project.yaml": "name: vol\n", "models/m.sql": "select 1 as x",
			"macros/stamp.sql": "{% macro stamp() %}{{ invocation_id }}{% endmacro %}"})
		mustElt(t, dir, "compile")
		if out := mustElt(t, dir, "compile"); !strings.Contains(out, "Reused the last compile") {
			t.Fatalf("an uncalled macro's mention prevented reuse:\n%s", out)
		}
	})
}

// TestPartialParseRunQuery: a compile that ran run_query() is reused while
// the query returns the same rows, and compiled again once it does not.
func TestPartialParseRunQuery(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":   "name: rq\n",
		"models/src.sql": "{{ config(materialized='table') }}select 1 as n",
	})
	mustElt(t, dir, "run", "-s", "src")
	if err := os.WriteFile(filepath.Join(dir, "models", "m.sql"), []byte(
		"{% set r = run_query('select max(n) as n from src') %}select {{ r.rows[0][0] }} as n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustElt(t, dir, "compile")
	if out := mustElt(t, dir, "compile"); !strings.Contains(out, "Reused the last compile") {
		t.Fatalf("same query answer, not reused:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "target", "compiled", "models", "m.sql"))
	if !strings.Contains(string(b), "select 1 as n") {
		t.Fatalf("m = %s", b)
	}
	editFile(t, filepath.Join(dir, "models", "src.sql"), "select 1 as n", "select 2 as n")
	mustElt(t, dir, "run", "-s", "src")
	out := mustElt(t, dir, "compile")
	if strings.Contains(out, "Reused the last compile") {
		t.Fatalf("the query's answer changed, yet reused:\n%s", out)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "target", "compiled", "models", "m.sql"))
	if !strings.Contains(string(b), "select 2 as n") {
		t.Fatalf("m = %s", b)
	}
}

// TestPartialParsePatch: a change to the text of model files alone renders
// only those models again on top of the last compile — and gives exactly
// the manifest a full compile gives — unless the change reaches other
// nodes (an ephemeral model, a new alias), which compiles in full; what
// the patch read (env_var()) is checked on the next invocation like the
// rest of the record.
func TestPartialParsePatch(t *testing.T) {
	t.Setenv("ELT_PP_PATCH", "one")
	t.Setenv("ELT_PP_V", "")
	os.Unsetenv("ELT_PP_V")
	dir := writeProject(t, map[string]string{
		"project.yaml":   "name: pt\n",
		"models/a.sql":   "select 1 as id",
		"models/b.sql":   "select id from {{ ref('a') }}",
		"models/e.sql":   "{{ config(materialized='ephemeral') }}\nselect 2 as id",
		"models/s.sql":   "select id from {{ ref('e') }}",
		"models/inc.sql": "{{ config(materialized='incremental', unique_key='id') }}\nselect 3 as id",
		"models/m.yml":   "models:\n  - name: b\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
		"models/v.sql":   "select '{{ env_var(\"ELT_PP_V\", \"unset\") }}' as v",
	})
	const patchedMessage = "whose files or variables changed"
	step := func(what, want string) string {
		t.Helper()
		out := mustElt(t, dir, "compile")
		for _, m := range []string{reusedMessage, patchedMessage} {
			if strings.Contains(out, m) != (m == want) {
				t.Fatalf("%s: output says %q: %v, want %v\n%s", what, m, !(m == want), m == want, out)
			}
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, "target", "*.tmp")); len(tmp) > 0 {
			t.Fatalf("%s: temporary files left in target/: %v", what, tmp)
		}
		return out
	}
	// sameAsFull checks the patch against a full compile, whose record is
	// then recorded and reused.
	sameAsFull := func(what string) {
		t.Helper()
		sameAsFullCompile(t, dir, what)
		step(what+": recorded again", "")
		step(what+": then reused", reusedMessage)
	}
	step("first compile", "")
	step("unchanged", reusedMessage)

	editFile(t, filepath.Join(dir, "models", "b.sql"), "select id", "select id, 'x' as tag")
	if out := step("b's text changed", patchedMessage); !strings.Contains(out, "rendering again only the 1 node whose") {
		t.Fatalf("b's text changed:\n%s", out)
	}
	if got := compiledSQL(t, dir, "b"); !strings.Contains(got, "'x' as tag") {
		t.Fatalf("b = %s", got)
	}
	step("unchanged after a patch", reusedMessage)
	// The patch's record keeps what the last full compile read: v's env var.
	t.Setenv("ELT_PP_V", "set")
	step("an env var an unchanged model read changed", "")
	if got := compiledSQL(t, dir, "v"); !strings.Contains(got, "'set'") {
		t.Fatalf("v = %s", got)
	}
	editFile(t, filepath.Join(dir, "models", "b.sql"), "'x' as tag", "'y' as tag")
	step("b's text changed again", patchedMessage)
	sameAsFull("b's text")

	editFile(t, filepath.Join(dir, "models", "b.sql"), "{{ ref('a') }}", "{{ ref('inc') }}")
	step("b refs inc instead of a", patchedMessage)
	sameAsFull("b's ref")
	if out := mustElt(t, dir, "run"); !strings.Contains(out, "PASS=5") {
		t.Fatalf("run after a patch:\n%s", out)
	}

	// A properties file describing models only: the models it describes
	// are rendered again and their tests made again.
	yml := filepath.Join(dir, "models", "m.yml")
	editFile(t, yml, "data_tests: [not_null]", "data_tests: [not_null, unique]")
	if out := step("b's tests changed", patchedMessage); !strings.Contains(out, "rendering again only the 3 nodes whose") {
		t.Fatalf("b's tests changed (b and its two tests):\n%s", out)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "target", "compiled", "models", "m.yml", "unique_b_id.sql")); err != nil ||
		!strings.Contains(string(got), "group by id") {
		t.Fatalf("unique_b_id = %s (%v)", got, err)
	}
	sameAsFull("b's tests")
	if out := mustElt(t, dir, "build"); !strings.Contains(out, "PASS=7") {
		t.Fatalf("build after a patch of properties:\n%s", out)
	}
	editFile(t, yml, "  - name: b\n", "  - name: b\n    description: patched\n")
	step("b's description changed", patchedMessage)
	sameAsFull("b's description")
	editFile(t, yml, "data_tests: [not_null, unique]", "data_tests: [not_null]")
	step("b's test removed", patchedMessage)
	sameAsFull("b's test removed")
	// A test made again that stores its failures has their schema, which
	// the run creates.
	editFile(t, yml, "data_tests: [not_null]", "data_tests: [{not_null: {config: {store_failures: true}}}]")
	step("b's test stores failures", patchedMessage)
	if out := mustElt(t, dir, "build"); !strings.Contains(out, "PASS=6") {
		t.Fatalf("build after a patch of properties:\n%s", out)
	}
	sameAsFull("b's test stores failures")
	// A source (as seeds and unit tests) has dependants: every change of
	// a file that describes one compiles everything.
	editFile(t, yml, "models:\n", "sources:\n  - name: raw\n    tables:\n      - name: t\nmodels:\n")
	step("a source added", "")
	editFile(t, yml, "description: patched", "description: patched again")
	step("a file with a source changed", "")

	// A model file added joins alone; removed, it leaves, unless a model
	// still refs it.
	if err := os.WriteFile(filepath.Join(dir, "models", "n.sql"), []byte("select id from {{ ref('a') }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := step("a model file added", patchedMessage); !strings.Contains(out, "rendering again only the 1 node whose") {
		t.Fatalf("a model file added:\n%s", out)
	}
	sameAsFull("a model file added")
	if err := os.Remove(filepath.Join(dir, "models", "n.sql")); err != nil {
		t.Fatal(err)
	}
	step("a model file removed", patchedMessage)
	sameAsFull("a model file removed")
	if err := os.Remove(filepath.Join(dir, "models", "inc.sql")); err != nil {
		t.Fatal(err)
	}
	if code, out := elt(t, dir, "compile"); code == 0 || !strings.Contains(out, "inc") {
		t.Fatalf("a model file removed that b refs: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "models", "inc.sql"), []byte("{{ config(materialized='incremental', unique_key='id') }}\nselect 3 as id"), 0o644); err != nil {
		t.Fatal(err)
	}

	editFile(t, filepath.Join(dir, "models", "e.sql"), "select 2", "select 22")
	step("an ephemeral model changed", "")
	if got := compiledSQL(t, dir, "s"); !strings.Contains(got, "select 22 as id") {
		t.Fatalf("s = %s", got)
	}
	editFile(t, filepath.Join(dir, "models", "a.sql"), "select 1 as id", "{{ config(alias='a2') }}\nselect 1 as id")
	step("a's alias changed", "")
	editFile(t, filepath.Join(dir, "models", "a.sql"), "select 1 as id", "select '{{ env_var(\"ELT_PP_PATCH\") }}' as id")
	step("a reads an env var", patchedMessage)
	step("the env var unchanged", reusedMessage)
	t.Setenv("ELT_PP_PATCH", "two")
	step("the env var the patch read changed", "")
	if got := compiledSQL(t, dir, "a"); !strings.Contains(got, "'two'") {
		t.Fatalf("a = %s", got)
	}
}

// TestPartialParsePatchMacros: after an edit of a macro file, elt renders
// again the models and tests that called its macros, and writes what a
// full compile writes, as after an edit of a singular test; a macro file
// that gains or loses a macro, or a config(, compiles everything.
func TestPartialParsePatchMacros(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":          "name: pm\n",
		"macros/amounts.sql":    "{% macro cents(x) %}({{ x }} * 100){% endmacro %}\n",
		"macros/checks.sql":     "{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} <= 0{% endtest %}\n",
		"macros/singular.sql":   "{% macro none_below(rel) %}select * from {{ rel }} where id < 0{% endmacro %}\n",
		"models/a.sql":          "select 1 as id, 2 as amount",
		"models/b.sql":          "select id, {{ cents('amount') }} as amount_cents from {{ ref('a') }}",
		"models/c.sql":          "select id from {{ ref('a') }}",
		"models/m.yml":          "models:\n  - name: c\n    columns:\n      - name: id\n        data_tests: [positive]\n",
		"tests/no_negative.sql": "{{ none_below(ref('a')) }}\n",
	})
	compile := func(what, want string) {
		t.Helper()
		out := mustElt(t, dir, "compile")
		if !strings.Contains(out, want) {
			t.Fatalf("%s: output lacks %q:\n%s", what, want, out)
		}
	}
	sameAsFull := func(what string) {
		t.Helper()
		sameAsFullCompile(t, dir, what)
		compile(what+": recorded again", "Compiled")
	}
	compile("first compile", "Compiled 5 nodes")
	editFile(t, filepath.Join(dir, "macros", "amounts.sql"), "* 100", "* 1000")
	compile("a macro b calls", "rendering again only the 1 node whose files or variables changed")
	if got := compiledSQL(t, dir, "b"); !strings.Contains(got, "* 1000") {
		t.Fatalf("b = %s", got)
	}
	sameAsFull("a macro b calls")
	editFile(t, filepath.Join(dir, "macros", "checks.sql"), "<= 0", "< 0")
	compile("a test macro", "rendering again only the 2 nodes whose files or variables changed") // c and its test
	got, err := os.ReadFile(filepath.Join(dir, "target", "compiled", "models", "m.yml", "positive_c_id.sql"))
	if err != nil || !strings.Contains(string(got), "id < 0") {
		t.Fatalf("positive_c_id = %s (%v)", got, err)
	}
	sameAsFull("a test macro")
	if out := mustElt(t, dir, "build"); !strings.Contains(out, "PASS=5") {
		t.Fatalf("build after a patch of macros:\n%s", out)
	}
	editFile(t, filepath.Join(dir, "macros", "singular.sql"), "id < 0", "id < -1")
	compile("a macro a singular test calls", "rendering again only the 1 node whose files or variables changed")
	got, err = os.ReadFile(filepath.Join(dir, "target", "compiled", "tests", "no_negative.sql"))
	if err != nil || !strings.Contains(string(got), "id < -1") {
		t.Fatalf("no_negative = %s (%v)", got, err)
	}
	sameAsFull("a macro a singular test calls")
	editFile(t, filepath.Join(dir, "tests", "no_negative.sql"), "{{ none_below(ref('a')) }}", "{{ none_below(ref('b')) }}")
	compile("a singular test's text", "rendering again only the 1 node whose files or variables changed")
	sameAsFull("a singular test's text")
	for _, c := range []struct{ what, file, old, new string }{
		{"a macro added", "amounts.sql", "{% endmacro %}\n", "{% endmacro %}\n{% macro dollars(x) %}{{ x }}{% endmacro %}\n"},
		// config() in a macro file makes a compile render every model
		// to find its config() calls.
		{"a macro file that mentions config(", "amounts.sql", "* 1000", "* 1000 {# config( #}"},
	} {
		editFile(t, filepath.Join(dir, "macros", c.file), c.old, c.new)
		out := mustElt(t, dir, "compile")
		if strings.Contains(out, "rendering again") || strings.Contains(out, reusedMessage) {
			t.Fatalf("%s: not a full compile:\n%s", c.what, out)
		}
	}
}

// TestPartialParsePatchSeed: new rows in a seed's file change only the
// seed's fingerprint, which a patch takes; the build then loads them.
func TestPartialParsePatchSeed(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":  "name: ps\n",
		"seeds/s.csv":   "id,name\n1,a\n",
		"models/m.sql":  "select count(*) as n from {{ ref('s') }}",
		"models/m2.sql": "select 1 as x",
	})
	if out := mustElt(t, dir, "build"); !strings.Contains(out, "PASS=3") {
		t.Fatalf("first build:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(dir, "seeds", "s.csv"), []byte("id,name\n1,a\n2,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustElt(t, dir, "compile"); !strings.Contains(out, "rendering again only the 1 node whose files or variables changed") {
		t.Fatalf("compile after a seed's rows changed:\n%s", out)
	}
	if out := mustElt(t, dir, "build"); !strings.Contains(out, "PASS=3") {
		t.Fatalf("build after a seed's rows changed:\n%s", out)
	}
	if out := mustElt(t, dir, "show", "--inline", "select n from main.m"); !strings.Contains(out, "2") {
		t.Fatalf("m after the seed changed:\n%s", out)
	}
}

// sameAsFullCompile checks that the project in dir's manifest.json is, byte
// for byte but for its metadata, what a full compile (with args) writes;
// the full compile leaves no record.
func sameAsFullCompile(t *testing.T, dir, what string, args ...string) {
	t.Helper()
	read := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "target", "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		start, end, err := manifest.MetadataSpan(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[:start]) + string(b[end:])
	}
	patched := read()
	mustElt(t, dir, append([]string{"compile", "--no-partial-parse"}, args...)...)
	if full := read(); patched != full {
		t.Fatalf("%s: the patched manifest differs from a full compile's:\n%s\n%s", what, patched, full)
	}
}

// TestPartialParsePatchVars: a daily run that passes another --vars value
// renders again only the models that read the variable.
func TestPartialParsePatchVars(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml": "name: pv\nvars:\n  region: eu\n",
		"models/a.sql": "select '{{ var(\"day\", \"none\") }}' as day",
		"models/b.sql": "select '{{ var(\"region\") }}' as region",
		"models/c.sql": "select * from {{ ref('a') }}",
	})
	compile := func(vars, want string) {
		t.Helper()
		out := mustElt(t, dir, "compile", "--vars", vars)
		if !strings.Contains(out, want) {
			t.Fatalf("--vars %s: output lacks %q:\n%s", vars, want, out)
		}
	}
	compile("{day: '2025-01-01'}", "Compiled 3 nodes")
	compile("{day: '2025-01-02'}", "rendering again only the 1 node whose files or variables changed")
	if got := compiledSQL(t, dir, "a"); !strings.Contains(got, "2025-01-02") {
		t.Fatalf("a = %s", got)
	}
	sameAsFullCompile(t, dir, "day changed", "--vars", "{day: '2025-01-02'}")
	compile("{day: '2025-01-02'}", "Compiled 3 nodes") // --no-partial-parse left no record
	compile("{day: '2025-01-02'}", reusedMessage)
	compile("{day: '2025-01-02', region: us}", "rendering again only the 1 node whose files or variables changed")
	if got := compiledSQL(t, dir, "b"); !strings.Contains(got, "us") {
		t.Fatalf("b = %s", got)
	}
	// day and region back to their defaults: two of the three nodes read
	// them, and a full compile is as quick as a patch of most nodes.
	if out := mustElt(t, dir, "compile", "--vars", "{}"); strings.Contains(out, "rendering again") || strings.Contains(out, reusedMessage) {
		t.Fatalf("--vars {}: not a full compile:\n%s", out)
	}
	if got := compiledSQL(t, dir, "b"); !strings.Contains(got, "eu") {
		t.Fatalf("b = %s", got)
	}
	// project.yaml's variables are patched as --vars are, when nothing
	// else in the file changed.
	setProject := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "project.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustElt(t, dir, "compile", "--vars", "{day: '2025-01-02'}")
	setProject("name: pv\nvars:\n  region: apac\n")
	compile("{day: '2025-01-02'}", "rendering again only the 1 node whose files or variables changed")
	if got := compiledSQL(t, dir, "b"); !strings.Contains(got, "apac") {
		t.Fatalf("b = %s", got)
	}
	sameAsFullCompile(t, dir, "project.yaml's region changed", "--vars", "{day: '2025-01-02'}")
	mustElt(t, dir, "compile", "--vars", "{day: '2025-01-02'}")
	// Its other settings still compile everything.
	setProject("name: pv\nmodels:\n  +materialized: table\nvars:\n  region: apac\n")
	out := mustElt(t, dir, "compile", "--vars", "{day: '2025-01-02'}")
	if !strings.Contains(out, "Compiled 3 nodes") || strings.Contains(out, "rendering again") || strings.Contains(out, "from the last compile") {
		t.Fatalf("a folder default added: not a full compile:\n%s", out)
	}
}

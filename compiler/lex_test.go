package compiler

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nikolalohinski/gonja/v2/tokens"

	"github.com/elt-dev/elt/project"
)

// gonjaTokens is every token gonja's own lexer emits for src, white space
// included; it fails t when gonja does not finish (it loops on some
// malformed input).
func gonjaTokens(t *testing.T, src string) []tokens.Token {
	l := tokens.NewLexer(src, templateConfig)
	go l.Run()
	var out []tokens.Token
	timeout := time.After(10 * time.Second)
	for {
		select {
		case tok, ok := <-l.Tokens:
			if !ok {
				return out
			}
			out = append(out, *tok)
		case <-timeout:
			t.Fatalf("gonja's lexer does not finish on %q", src)
		}
	}
}

func derefAll(ts []*tokens.Token) []tokens.Token {
	out := make([]tokens.Token, len(ts))
	for i, t := range ts {
		out[i] = *t
	}
	return out
}

// checkFastLex fails t when fastLex accepts src but tokenizes it
// differently from gonja, and reports whether fastLex accepted it.
func checkFastLex(t *testing.T, src string) bool {
	t.Helper()
	all, ok := lexAll(src, nil)
	fast, fastOK := fastLex(src)
	if ok != fastOK {
		t.Fatalf("lexAll and fastLex disagree on %q", src)
	}
	if !ok {
		return false
	}
	var got []*tokens.Token
	for i := range all {
		if all[i].Type != tokens.Whitespace {
			got = append(got, &all[i])
		}
	}
	if fmt.Sprint(derefAll(got)) != fmt.Sprint(derefAll(fast)) {
		t.Fatalf("fastLex(%q) is not lexAll less white space:\n%v\n%v", src, derefAll(fast), derefAll(got))
	}
	got = got[:0]
	for i := range all {
		got = append(got, &all[i])
	}
	want := gonjaTokens(t, src)
	for _, w := range want {
		if w.Type == tokens.Error {
			t.Fatalf("fastLex accepted %q, which gonja rejects: %s", src, w.Val)
		}
	}
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		var g, w string
		if i < len(got) {
			g = fmt.Sprintf("%+v", *got[i])
		}
		if i < len(want) {
			w = fmt.Sprintf("%+v", want[i])
		}
		if g != w {
			t.Fatalf("fastLex(%q) token %d:\n got %s\nwant %s", src, i, g, w)
		}
	}
	return true
}

// TestFastLexMatchesGonja holds fastLex to gonja on the templates models
// are made of (each of which it must accept) and on inputs it must leave
// to gonja.
func TestFastLexMatchesGonja(t *testing.T) {
	accepted := []string{
		"",
		"select 1",
		"select 1\n",
		"select * from {{ ref('orders') }}",
		"select * from {{ ref(\"orders\") }} o join {{ source('raw', 'events') }} e using (id)\n",
		"{{ config(materialized='incremental', unique_key=['id', 'day'], tags=[\"a\"]) }}\nselect 1",
		"{{ config(\n    materialized = 'table',\n    max_quarantine_ratio=0.05,\n    threads=4\n) }}\n",
		"{{\nconfig(materialized='view')\n}}",
		"{%- if is_incremental() -%}\nwhere ts > (select max(ts) from {{ this }})\n{%- endif %}",
		"{% if x and not y or z in [1, 2] %}a{% elif w is defined %}b{% else %}c{% endif %}",
		"{% for c in ['a','b'] %}{{ c }}{% if not loop.last %},{% endif %}{% endfor %}",
		"{% set cols = {'a': 1, 'b': 2.5} %}{{ cols['a'] + 1 - 2 * 3 / 4 // 5 % 6 ** 7 }}",
		"{{ x == 1 }}{{ x != 1 }}{{ x < 1 }}{{ x <= 1 }}{{ x > 1 }}{{ x >= 1 }}{{ 'a' ~ 'b' }}",
		"{{ var('start', '2024-01-01') | upper }}{{ not(x) }}{{ a.b.c }}{{ x[1:2] }}",
		"{# a comment #}select {#- trimmed -#} 1 {#+ kept +#}",
		"{{- ref('a') -}}",
		"{% macro cents(col, scale=100) %}({{ col }} / {{ scale }}){% endmacro %}",
		"{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} < 0{% endtest %}",
		"select '{' as brace, '{ {' as two, '}}' as close from t",
		"{{ ref('café') }} données",
		"index inx isx orx andx notx nota in_ is_ {{ index + inx - isx * andx }}",
		"{{ a\n+ b }}{{ f(\nx) }}",
		"{{ 'multi\nline' }}",
		"{% %}",
		"{{ 12 }}{{ 1.5 }}{{ 007 }}",
		"{{ f(x }}", // gonja lexes it; its parser reports the error
	}
	for _, src := range accepted {
		if !checkFastLex(t, src) {
			t.Errorf("fastLex left %q to gonja; it should lex it", src)
		}
	}
	refused := []string{
		"select 1\r\n",
		"{% raw %}{{ x }}{% endraw %}",
		"{% comment %}x{% endcomment %}",
		"{{ 'it\\'s' }}",
		"{{ 1e3 }}", "{{ 1_000 }}", "{{ 0x1f }}", "{{ 1. }}", "{{ 1.2.3 }}", "{{ 1abc }}",
		"{{ x ! y }}",
		"{{ f(x] }}", "{{ x", "{% if x", "{# open",
		"{{ x -%}", "{% if x -}}",
		"{{ naïve }}",
	}
	for _, src := range refused {
		if checkFastLex(t, src) {
			t.Errorf("fastLex accepted %q; it should leave it to gonja", src)
		}
	}
}

// TestFastLexOnRepoTemplates checks every SQL template of the example
// project and of the compiler's test data, and requires most of them to
// take the fast path.
func TestFastLexOnRepoTemplates(t *testing.T) {
	var total, fast int
	for _, root := range []string{"../models", "../macros", "../tests", "."} { // "." holds testdata/
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			total++
			if checkFastLex(t, string(b)) {
				fast++
			}
			return nil
		})
	}
	if total == 0 || fast*10 < total*9 {
		t.Fatalf("fastLex took %d of %d templates; expected at least 90%%", fast, total)
	}
}

// FuzzFastLex: whatever fastLex accepts, it tokenizes as gonja does.
func FuzzFastLex(f *testing.F) {
	for _, s := range []string{
		"select * from {{ ref('a') }}", "{% if x %}{{ y }}{% endif %}", "{# c #}",
		"{{ f(\n a=1, b=[1,2], c={'k': \"v\"}) | lower }}", "{{- x -}}{%- y -%}{%+ z +%}",
		"{{ a in b and not c or d is e }}", "{{ 1.5 // 2 ** 3 }}", "{{ x\n}}", "{{ '\n' }}",
		"{{ @\\'a' }}", "{{#\\\"\"0}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) { checkFastLex(t, src) })
}

// TestFastLexJunkBackslash: a byte no rule takes (here '@'), then a
// backslash, then a quoted string. gonja drops the token's first byte and
// unescapes \' and \" in the rest, so fastLex must leave any token with a
// backslash to gonja, not only a string with one.
func TestFastLexJunkBackslash(t *testing.T) {
	for _, src := range []string{"{{ @\\'a' }}", "{{#\\\"\"0}}"} {
		t.Run(src, func(t *testing.T) { checkFastLex(t, src) })
	}
}

// TestFastLexAcceptsWhatGonjaRejects: a template gonja rejects is an
// error, never SQL the fast path made up.
func TestFastLexAcceptsWhatGonjaRejects(t *testing.T) {
	src := "select {{ 'x' ~ @\\\\'a' }}" // the file holds: select {{ 'x' ~ @\\'a' }}
	p := &project.Project{Name: "x", Vars: map[string]any{},
		Models: []*project.SQLFile{{Path: "models/a.sql", Name: "a", Content: src}}}
	m, diags := Compile(p, fixedOptions())
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "template syntax error") {
		t.Fatalf("compiled to %q (err %v); gonja reports a template syntax error", m.Nodes["model.a"].CompiledSQL, err)
	}
}

// TestLocalMacroTracePosition: an error inside a macro defined in the
// model itself names the macro's file and line (rendering goes through a
// shared shell template, so the file is taken when the macro is parsed).
func TestLocalMacroTracePosition(t *testing.T) {
	src := "{% macro inner() %}\n{{ ref('nope') }}{% endmacro %}\n{{ inner() }}"
	p := &project.Project{Name: "x", Vars: map[string]any{},
		Models: []*project.SQLFile{{Path: "models/a.sql", Name: "a", Content: src}}}
	_, diags := Compile(p, fixedOptions())
	err := diags.Err()
	if err == nil || !strings.Contains(err.Error(), "(in macro inner at models/a.sql:2)") {
		t.Fatalf("error = %v, want it to name the macro at models/a.sql:2", err)
	}
}

package compiler

import (
	"strings"
	"testing"

	"github.com/elt-dev/elt/project"
)

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

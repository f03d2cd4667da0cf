package compiler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// parseHooks checks the syntax of on-run-start and on-run-end at compile
// time; they are rendered at run time by RenderHooks.
func (c *compilation) parseHooks() {
	for _, h := range append(append([]project.Hook(nil), c.p.OnRunStart...), c.p.OnRunEnd...) {
		if _, err := parseTemplate(hookFile(h), h.SQL); err != nil {
			c.diags.Add(hookError(h, translate(err, hookFile(h), 0)))
		}
	}
}

func hookFile(h project.Hook) string { return firstNonEmpty(h.Pos.File, project.FileName) }

// hookError places a template error of hook h at its line in project.yaml.
func hookError(h project.Hook, te *templateError) diag.Diagnostic {
	pos := h.Pos
	if pos.File == "" {
		pos.File = project.FileName
	}
	if te.Line > 1 && pos.Line > 0 {
		pos.Line += te.Line - 1
		pos.Col = 0
	}
	return diag.Errorf(pos, "%s", te.Msg)
}

// forManifest prepares a compilation for rendering against an already
// compiled manifest: macros are loaded, and ref/source resolve to m's nodes.
func forManifest(p *project.Project, m *manifest.Manifest, opts Options) *compilation {
	c := newCompilation(p, opts)
	c.loadMacros()
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		switch n.ResourceType {
		case manifest.Model:
			u := &unit{node: n, file: &project.SQLFile{Path: n.Path, Name: n.Name}}
			u.rel = relation{Schema: n.Schema, Identifier: n.Alias}
			if n.Config.Materialized == "ephemeral" {
				u.rel.expr = ephemeralName(n.Name)
			}
			c.models[n.Name] = u
		case manifest.Seed:
			c.seeds[n.Name] = n
		case manifest.Source:
			c.sources[id] = n
			c.sourceTables[n.Source.SourceName] = append(c.sourceTables[n.Source.SourceName], n.Source.TableName)
		}
	}
	for _, t := range c.sourceTables {
		sort.Strings(t)
	}
	c.indexRefs()
	return c
}

// RenderHooks renders on-run-start or on-run-end statements (pass
// p.OnRunStart or p.OnRunEnd) against the compiled manifest m. It runs at
// run time because hooks may call run_query() through opts.Query. Empty
// statements are dropped.
func RenderHooks(p *project.Project, m *manifest.Manifest, hooks []project.Hook, opts Options) ([]string, diag.List) {
	c := forManifest(p, m, opts)
	var out []string
	for _, h := range hooks {
		t, err := parseTemplate(hookFile(h), h.SQL)
		if err != nil {
			c.diags.Add(hookError(h, translate(err, hookFile(h), 0)))
			continue
		}
		s, terr := c.render(t, &renderState{c: c, pass: final}, hookFile(h), 0, nil)
		if terr != nil {
			c.diags.Add(hookError(h, terr))
			continue
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	c.diags.Sort()
	return out, c.diags
}

// RenderOperation calls the macro named macro with args as keyword
// arguments (elt run-operation MACRO --args YAML) and returns what it
// renders, or the text of the value it return()s, trimmed. The macro may
// run SQL itself through run_query().
func RenderOperation(p *project.Project, m *manifest.Manifest, macro string, args map[string]any, opts Options) (string, error) {
	c := forManifest(p, m, opts)
	if err := c.diags.Err(); err != nil {
		return "", err
	}
	def, ok := c.macros[macro]
	if !ok {
		names := sortedKeys(c.macros)
		if s := manifest.DidYouMean(macro, names); s != "" {
			return "", fmt.Errorf("macro %s not found — did you mean %s?", macro, s)
		}
		return "", fmt.Errorf("macro %s not found — define it with {%% macro %s() %%} in a file under macros/", macro, macro)
	}
	t, err := parseTemplate("run-operation", "")
	if err != nil {
		return "", err
	}
	st := &renderState{c: c, pass: final}
	var result *exec.Value
	_, terr := c.render(t, st, def.file, 0, nil) // binds st.root to a renderer with the full context
	if terr != nil {
		return "", terr
	}
	va := exec.NewVarArgs()
	for _, k := range sortedKeys(args) {
		va.KwArgs[k] = exec.AsValue(args[k])
	}
	st.trace = nil
	result = def.call(st.root.Evaluator(), va)
	if result.IsError() {
		msg := cleanMessage(result.Error(), c.known)
		pos := diag.Pos{File: def.file, Line: def.node.Location.Line}
		if n := len(st.trace); n > 0 {
			// The outermost frame is the operation's own macro: report its
			// line as the position and the inner frames as the trace.
			pos = st.trace[n-1].pos
			msg += describeTrace(st.trace[:n-1])
		}
		return "", diag.Errorf(pos, "run-operation %s: %s", macro, msg)
	}
	if result.IsNil() {
		return "", nil
	}
	return strings.TrimSpace(result.String()), nil
}

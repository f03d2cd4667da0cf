package compiler

import (
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// anyContains reports whether some file's text contains s.
func anyContains(files []*project.SQLFile, s string) bool {
	for _, f := range files {
		if strings.Contains(f.Content, s) {
			return true
		}
	}
	return false
}

// loadMacros parses every file of macros/ once and binds each macro by
// name in the base context. Two macros of one name, or a macro shadowing
// one of elt's functions, are errors.
func (c *compilation) loadMacros() {
	type parsed struct {
		tpl *template
		err *templateError
	}
	results := make([]parsed, len(c.p.Macros))
	c.parallel(len(c.p.Macros), func(i int) {
		f := c.p.Macros[i]
		t, err := parseTemplate(f.Path, f.Content)
		if err != nil {
			results[i].err = translate(err, f.Path, 0)
			return
		}
		results[i].tpl = t
	})
	reserved := map[string]bool{"return": true, "exceptions": true, "target": true, "this": true,
		"run_started_at": true, "invocation_id": true, "execute": true, "flags": true, "project_dir": true}
	for n := range globalFuncs {
		reserved[n] = true
	}
	for i, r := range results {
		f := c.p.Macros[i]
		if r.err != nil {
			c.diags.Add(r.err.diagnostic())
			continue
		}
		names := make([]string, 0, len(r.tpl.Macros()))
		for n := range r.tpl.Macros() {
			names = append(names, n)
		}
		sort.Strings(names)
		volatile := macroVolatility(f.Content, r.tpl.Macros())
		for _, n := range names {
			node := r.tpl.Macros()[n]
			pos := diag.Pos{File: f.Path, Line: node.Location.Line}
			if reserved[n] {
				c.diags.Errorf(pos, "macro %s has the name of an elt function — rename the macro", n)
				continue
			}
			if prev, ok := c.macros[n]; ok {
				c.diags.Errorf(pos, "macro %s is defined twice (also in %s:%d) — rename or remove one", n, prev.file, prev.node.Location.Line)
				continue
			}
			def := &macroDef{node: node, file: f.Path, volatile: volatile[n], project: true}
			c.macros[n] = def
			c.base.Set(n, def.call)
		}
	}
	c.computeKnown()
	c.macroConfig = anyContains(c.p.Macros, "config(")
}

// prepareUnits creates a unit per model file and singular test file. Of
// two files with one name (an error project.Load reports) the first wins.
func (c *compilation) prepareUnits() {
	for _, f := range c.p.Models {
		if _, dup := c.models[f.Name]; dup {
			continue // project.Load reports duplicate names
		}
		u := &unit{file: f, props: c.p.ModelProps[f.Name], node: &manifest.Node{
			ID: manifest.ModelID(f.Name), ResourceType: manifest.Model, Name: f.Name,
			Path: f.Path, Pos: diag.Pos{File: f.Path, Line: 1}, RawSQL: f.Content,
		}}
		c.models[f.Name] = u
		c.modelList = append(c.modelList, u)
	}
	seen := map[string]*unit{}
	for _, f := range c.p.Tests {
		if prev, ok := seen[f.Name]; ok {
			c.diags.Errorf(diag.Pos{File: f.Path}, "duplicate test name %s (also %s) — rename one file", f.Name, prev.file.Path)
			continue
		}
		u := &unit{file: f, node: &manifest.Node{
			ID: manifest.TestID(f.Name), ResourceType: manifest.Test, Name: f.Name,
			Path: f.Path, Pos: diag.Pos{File: f.Path, Line: 1}, RawSQL: f.Content,
			TestInfo: &manifest.TestInfo{TestType: "singular"},
		}}
		seen[f.Name] = u
		c.tests = append(c.tests, u)
	}
}

// discover parses u, renders it once to collect its config() calls when it
// may have any, and merges its configuration.
func (c *compilation) discover(u *unit) {
	t, err := parseTemplate(u.file.Path, u.file.Content)
	if err != nil {
		u.fail(translate(err, u.file.Path, 0).diagnostic())
		return
	}
	u.tpl = t
	if v := mentionsVolatile(u.file.Content); v != "" && c.opts.Volatile != nil {
		c.opts.Volatile(u.file.Path + " mentions " + v)
	}
	if u.node.ResourceType == manifest.Model {
		c.configureModel(u, nil)
	} else {
		u.node.Config = manifest.Config{Enabled: true, Materialized: "test", Severity: "error"}
	}
	if !strings.Contains(u.file.Content, "config(") && !c.macroConfig {
		return
	}
	st := &renderState{c: c, u: u, pass: discovery}
	this := u.rel
	if _, terr := c.render(t, st, u.file.Path, 0, &this); terr != nil {
		u.fail(terr.diagnostic())
		return
	}
	if len(st.configs) == 0 {
		return
	}
	if u.node.ResourceType == manifest.Model {
		c.configureModel(u, st.configs)
		return
	}
	for _, call := range st.configs {
		for _, k := range sortedKeys(call) {
			if err := u.node.Config.Apply(k, call[k]); err != nil {
				u.fail(diag.Errorf(diag.Pos{File: u.file.Path}, "%v", err))
			}
		}
	}
}

// configureModel merges u's configuration from the project root, its
// folders, its properties YAML and the file's config() calls, in rising
// precedence, and derives its relation.
func (c *compilation) configureModel(u *unit, fileCalls []map[string]any) {
	cfg := manifest.DefaultConfig()
	var diags diag.List
	applyMap := func(m project.ConfigMap) {
		for _, k := range sortedKeys(m) {
			v := m[k]
			if err := cfg.Apply(k, v.V); err != nil {
				diags.Errorf(v.Pos, "%v", err)
			}
		}
	}
	for _, fc := range folderChain(c.p.ModelDefaults, u.file.Path, "models/") {
		applyMap(fc.Config)
	}
	if pr := u.props; pr != nil {
		if len(pr.Tags) > 0 {
			_ = cfg.Apply("tags", toAnyList(pr.Tags))
		}
		if len(pr.Meta) > 0 {
			_ = cfg.Apply("meta", pr.Meta)
		}
		applyMap(pr.Config)
	}
	for _, call := range fileCalls {
		for _, k := range sortedKeys(call) {
			if err := cfg.Apply(k, call[k]); err != nil {
				diags.Errorf(diag.Pos{File: u.file.Path}, "%v", err)
			}
		}
	}
	if len(diags) > 0 {
		u.diags = diags // a later call replaces the errors of an earlier one
		u.failed = true
	}
	n := u.node
	n.Config = cfg
	n.Schema = cfg.Schema
	n.Alias = cfg.Alias
	if n.Alias == "" {
		n.Alias = n.Name
	}
	n.Tags = cfg.Tags
	n.Meta = cfg.Meta
	if cfg.Materialized == "ephemeral" {
		n.Relation = ""
		u.rel = relation{Schema: n.Schema, Identifier: n.Alias, expr: ephemeralName(n.Name)}
	} else {
		u.rel = relation{Schema: n.Schema, Identifier: n.Alias}
		n.Relation = u.rel.String()
	}
	if pr := u.props; pr != nil {
		n.Description = pr.Description
		n.Columns = columns(pr.Columns)
		n.DataTests = testSpecs(pr.Tests)
	}
}

// folderChain returns the folder defaults that apply to path, from the
// root down to the most specific folder; prefix is stripped first.
func folderChain(root *project.FolderConfig, path, prefix string) []*project.FolderConfig {
	if root == nil {
		return nil
	}
	chain := []*project.FolderConfig{root}
	dirs := strings.Split(strings.TrimPrefix(path, prefix), "/")
	fc := root
	for _, d := range dirs[:len(dirs)-1] {
		fc = fc.Children[d]
		if fc == nil {
			break
		}
		chain = append(chain, fc)
	}
	return chain
}

// indexRefs records the names ref() may resolve to, for did-you-mean hints.
func (c *compilation) indexRefs() {
	for name, u := range c.models {
		if u.node.Config.Enabled {
			c.refNames = append(c.refNames, name)
		}
	}
	for name := range c.seeds {
		c.refNames = append(c.refNames, name)
	}
	sort.Strings(c.refNames)
}

// finalRender renders u with the graph known and records its dependencies;
// model hooks are rendered with the same context.
func (c *compilation) finalRender(u *unit) {
	st := &renderState{c: c, u: u, pass: final}
	var this *relation
	if u.node.ResourceType == manifest.Model {
		this = &u.rel
	}
	out, terr := c.render(u.tpl, st, u.file.Path, 0, this)
	if terr != nil {
		u.fail(terr.diagnostic())
		return
	}
	u.rendered = out
	if u.node.ResourceType == manifest.Model {
		cfg := &u.node.Config
		cfg.PreHook = c.renderHookList(u, st, cfg.PreHook, "pre_hook")
		cfg.PostHook = c.renderHookList(u, st, cfg.PostHook, "post_hook")
	}
	u.deps = st.deps
}

// renderHookList renders a model's pre_hook or post_hook statements.
func (c *compilation) renderHookList(u *unit, st *renderState, hooks []string, key string) []string {
	out := make([]string, 0, len(hooks))
	for _, h := range hooks {
		// A hook may come from project.yaml, which the compiler reads
		// only through it.
		if v := mentionsVolatile(h); v != "" && c.opts.Volatile != nil {
			c.opts.Volatile(key + " of " + u.file.Path + " mentions " + v)
		}
		t, err := parseTemplate(u.file.Path, h)
		if err != nil {
			te := translate(err, u.file.Path, 0)
			u.fail(diag.Errorf(diag.Pos{File: u.file.Path}, "%s: %s", key, te.Msg))
			continue
		}
		s, terr := c.render(t, st, u.file.Path, 0, &u.rel)
		if terr != nil {
			u.fail(diag.Errorf(diag.Pos{File: u.file.Path}, "%s: %s", key, terr.Msg))
			continue
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// render executes t with a fresh context over the base one. this, when
// given, is bound as `this`. A failure is a *templateError at the true line
// of file (plus lineOffset), naming the macro it happened in, if any.
func (c *compilation) render(t *template, st *renderState, file string, lineOffset int, this *relation) (string, *templateError) {
	ctx := c.base.Inherit()
	ctx.Set(stateKey, st)
	ctx.Set("execute", st.pass == final)
	if this != nil {
		ctx.Set("this", *this)
	}
	var out strings.Builder
	env := &exec.Environment{
		Context:           ctx,
		Filters:           builtins.Filters,
		Tests:             builtins.Tests,
		ControlStructures: controlStructures,
		Methods:           builtins.Methods,
	}
	r := exec.NewRenderer(env, &out, templateConfig, &sourceLoader{name: file}, shellTemplate)
	r.RootNode = t.root
	ctx.Set("self", exec.Self(r)) // NewRenderer bound the shell's blocks
	st.root = r
	st.trace = nil
	if err := r.Execute(); err != nil {
		line, msg := explain(err, c.known)
		if line > 0 {
			line += lineOffset
		}
		msg += describeTrace(st.trace)
		return "", &templateError{File: file, Line: line, Msg: msg}
	}
	return out.String(), nil
}

// ephemeralName is the CTE name an ephemeral model is inlined under.
func ephemeralName(model string) string { return "__elt_eph_" + model }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// columns converts YAML column properties.
func columns(cols []*project.ColumnProps) []manifest.Column {
	if len(cols) == 0 {
		return nil
	}
	out := make([]manifest.Column, 0, len(cols))
	for _, col := range cols {
		out = append(out, manifest.Column{
			Name: col.Name, Description: col.Description, DataType: col.DataType,
			Meta: col.Meta, Tags: col.Tags, DataTests: testSpecs(col.Tests), Pos: col.Pos,
		})
	}
	return out
}

// testSpecs converts data_tests entries as written.
func testSpecs(specs []*project.TestSpec) []manifest.TestSpec {
	if len(specs) == 0 {
		return nil
	}
	out := make([]manifest.TestSpec, 0, len(specs))
	for _, s := range specs {
		ts := manifest.TestSpec{Name: s.Name, Args: s.Args, Pos: s.Pos, CustomName: s.CustomName}
		if len(s.Config) > 0 {
			ts.Config = make(map[string]any, len(s.Config))
			for k, v := range s.Config {
				ts.Config[k] = v.V
			}
		}
		out = append(out, ts)
	}
	return out
}

// macroVolatility returns, for each macro of a file whose source mentions
// one of project.VolatileNames, the first name it mentions. A macro's
// source is taken from its {% macro %} to the next macro of the file (or
// the end): a superset, so a mention is never missed.
func macroVolatility(src string, macros map[string]*nodes.Macro) map[string]string {
	if mentionsVolatile(src) == "" {
		return nil
	}
	starts := make([]int, 0, len(macros))
	for _, m := range macros {
		starts = append(starts, m.Location.Pos)
	}
	sort.Ints(starts)
	out := map[string]string{}
	for n, m := range macros {
		from := m.Location.Pos
		to := len(src)
		if i := sort.SearchInts(starts, from+1); i < len(starts) {
			to = starts[i]
		}
		if from < 0 || from > to || to > len(src) {
			from, to = 0, len(src)
		}
		if v := mentionsVolatile(src[from:to]); v != "" {
			out[n] = v
		}
	}
	return out
}

// mentionsVolatile is project.MentionsVolatile.
func mentionsVolatile(s string) string { return project.MentionsVolatile(s) }

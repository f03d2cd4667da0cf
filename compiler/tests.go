package compiler

import (
	"crypto/md5"
	_ "embed"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// builtinTestsFile is the name errors inside the built-in generic tests
// carry.
const builtinTestsFile = "<elt builtin tests>"

//go:embed builtin_tests.sql
var builtinTestsSQL string

// BuiltinTests lists the generic tests elt ships (SPEC §6).
var BuiltinTests = []string{"accepted_range", "accepted_values", "drift", "expression_is_true", "not_empty",
	"not_null", "point_in_time", "recency", "relationships", "row_count", "unique", "unique_combination_of_columns"}

// loadBuiltinTests binds the built-in generic tests as macros test_<name>,
// except those a user's {% test %} of the same name replaces.
func (c *compilation) loadBuiltinTests() {
	t, err := parseTemplate(builtinTestsFile, builtinTestsSQL)
	if err != nil {
		c.diags.Errorf(diag.Pos{File: builtinTestsFile}, "internal error in the built-in tests: %v", err)
		return
	}
	for name, node := range t.Macros() {
		if _, user := c.macros[name]; user {
			continue
		}
		def := &macroDef{node: node, file: builtinTestsFile}
		c.macros[name] = def
		c.base.Set(name, def.call)
	}
	c.computeKnown()
}

// GenericTest is a test to attach to a node beyond those its YAML declares,
// e.g. the invariants a snapshot must keep. SQL is a query returning the
// failing rows; it may use {{ model }} for the attached node's relation.
type GenericTest struct {
	Name     string // the test node's name, unique in the project
	TestName string // the kind, e.g. "snapshot_valid_ranges"
	SQL      string
	Severity string // error (default) or warn
}

// testOwner is a node tests can be declared on.
type testOwner struct {
	node  *manifest.Node
	model string // "ref('x')" or "source('s', 't')"
	label string // the owner's part of a test name: the model name or source_<src>_<table>
	extra []GenericTest
}

// expandTests creates a test unit for every data test declared on an
// enabled model, seed or source and its columns (SPEC §6), with the
// configuration written beside or under config:, and adds it to c.tests.
// The units are parsed but not rendered: renderTest does that.
func (c *compilation) expandTests() []*unit {
	var owners []testOwner
	for _, u := range c.modelList {
		if u.node.Config.Enabled && !u.failed {
			owners = append(owners, c.modelOwner(u))
		}
	}
	for _, name := range sortedKeys(c.seeds) {
		n := c.seeds[name]
		owners = append(owners, testOwner{node: n, model: "ref('" + name + "')", label: name})
	}
	ids := make([]string, 0, len(c.sources))
	for id := range c.sources {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := c.sources[manifest.NodeID(id)]
		s := n.Source
		owners = append(owners, testOwner{node: n, model: "source('" + s.SourceName + "', '" + s.TableName + "')",
			label: "source_" + s.SourceName + "_" + s.TableName})
	}
	seen := map[string]diag.Pos{}
	for _, u := range c.tests {
		seen[u.node.Name] = u.node.Pos
	}
	out := c.generateTests(owners, seen)
	c.tests = append(c.tests, out...)
	return out
}

// modelOwner is the test owner of an enabled model's unit.
func (c *compilation) modelOwner(u *unit) testOwner {
	return testOwner{node: u.node, model: "ref('" + u.node.Name + "')", label: u.node.Name, extra: c.extraTests[u.node.Name]}
}

// generateTests makes, in order, the units of the tests declared on owners
// and their columns, and of their extra tests. seen maps the names of the
// project's other tests to their positions; each new test's name is added.
// A name already taken is made unique (and counted in c.renamedTests),
// unless the test names itself: that is an error.
func (c *compilation) generateTests(owners []testOwner, seen map[string]diag.Pos) []*unit {
	var out []*unit
	add := func(o testOwner, spec manifest.TestSpec, column string) {
		u := c.testUnit(o, spec, column, seen)
		if u != nil {
			out = append(out, u)
		}
	}
	for _, o := range owners {
		for _, spec := range o.node.DataTests {
			add(o, spec, "")
		}
		for _, col := range o.node.Columns {
			for _, spec := range col.DataTests {
				add(o, spec, col.Name)
			}
		}
		for _, g := range o.extra {
			if u := c.customTestUnit(o, g, seen); u != nil {
				out = append(out, u)
			}
		}
	}
	return out
}

// addGenericTests attaches tests to the model called model, as generic
// test nodes (test_type generic) with SQL of their own; a snapshot's
// invariants use it. Call it before expandTests (during discovery or from
// configureModel), from one goroutine at a time.
func (c *compilation) addGenericTests(model string, tests ...GenericTest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.extraTests == nil {
		c.extraTests = map[string][]GenericTest{}
	}
	c.extraTests[model] = append(c.extraTests[model], tests...)
}

// testUnit builds the unit of one declared test.
func (c *compilation) testUnit(o testOwner, spec manifest.TestSpec, column string, seen map[string]diag.Pos) *unit {
	pos := spec.Pos
	if pos.File == "" {
		pos = o.node.Pos
	}
	macro := "test_" + spec.Name
	if _, ok := c.macros[macro]; !ok {
		var names []string
		for n := range c.macros {
			if strings.HasPrefix(n, "test_") {
				names = append(names, strings.TrimPrefix(n, "test_"))
			}
		}
		sort.Strings(names)
		hint := "define it in macros/ with {% test " + spec.Name + "(model, column_name) %}…{% endtest %}"
		if s := manifest.DidYouMean(spec.Name, names); s != "" {
			hint = "did you mean " + s + "? Otherwise " + hint
		}
		c.diags.Errorf(pos, "unknown test %q on %s — %s", spec.Name, describeOwner(o, column), hint)
		return nil
	}
	cfg := manifest.Config{Enabled: true, Materialized: "test", Severity: "error"}
	for _, k := range sortedKeys(spec.Config) {
		if err := cfg.Apply(k, spec.Config[k]); err != nil {
			c.diags.Errorf(pos, "%v", err)
			return nil
		}
	}
	if !cfg.Enabled {
		return nil
	}
	if _, err := manifest.TestStatus(cfg, 0); err != nil {
		c.diags.Errorf(pos, "test %s on %s: %v", spec.Name, describeOwner(o, column), err)
		return nil
	}
	args := map[string]any{}
	for k, v := range spec.Args {
		args[k] = v
	}
	if spec.Name == "drift" {
		args["elt_node_id"] = string(o.node.ID)
	}
	name := spec.CustomName
	if name == "" {
		name = testName(spec.Name, o.label, column, spec.Args)
	}
	if prev, dup := seen[name]; dup {
		if spec.CustomName != "" {
			c.diags.Errorf(pos, "test name %q is already used (at %s) — give this test another name:", name, prev)
			return nil
		}
		name = hashName(name+"_"+pos.String(), name)
		c.renamedTests++
	}
	seen[name] = pos
	model := o.model
	if cfg.Where != "" {
		model = "'(select * from ' ~ " + model + " ~ ' where ' ~ " + jinjaLiteral(cfg.Where) + " ~ ')'"
	}
	var call strings.Builder
	call.WriteString("{{ " + macro + "(model=" + model)
	if column != "" {
		call.WriteString(", column_name=" + jinjaLiteral(column))
	}
	for _, k := range sortedKeys(args) {
		call.WriteString(", " + k + "=" + jinjaArg(args[k]))
	}
	call.WriteString(") }}")
	return c.newTestUnit(o, name, pos, call.String(), cfg, &manifest.TestInfo{
		TestType: "generic", TestName: spec.Name, Args: spec.Args, AttachedNode: o.node.ID, ColumnName: column,
	})
}

// customTestUnit builds the unit of a test registered with AddGenericTests.
func (c *compilation) customTestUnit(o testOwner, g GenericTest, seen map[string]diag.Pos) *unit {
	name := g.Name
	if _, dup := seen[name]; dup {
		c.diags.Errorf(o.node.Pos, "test name %q of %s is already used — rename it", name, o.node.ID)
		return nil
	}
	seen[name] = o.node.Pos
	cfg := manifest.Config{Enabled: true, Materialized: "test", Severity: "error"}
	if g.Severity != "" {
		cfg.Severity = g.Severity
	}
	src := "{% set model = " + o.model + " %}" + g.SQL
	return c.newTestUnit(o, name, o.node.Pos, src, cfg, &manifest.TestInfo{
		TestType: "generic", TestName: g.TestName, AttachedNode: o.node.ID,
	})
}

// newTestUnit parses src as the test's template and makes its unit.
func (c *compilation) newTestUnit(o testOwner, name string, pos diag.Pos, src string, cfg manifest.Config, info *manifest.TestInfo) *unit {
	file := pos.File
	if file == "" {
		file = o.node.Path
	}
	u := &unit{
		file: &project.SQLFile{Path: file, Name: name, Content: src},
		node: &manifest.Node{
			ID: manifest.TestID(name), ResourceType: manifest.Test, Name: name, Path: file, Pos: pos,
			RawSQL: src, Config: cfg, TestInfo: info, Tags: o.node.Tags,
			CompiledPath: "target/compiled/" + strings.TrimSuffix(file, ".sql") + "/" + name + ".sql", // beside a model's own compiled file, not under it
		},
	}
	t, err := parseTemplate(file, src)
	if err != nil {
		c.diags.Errorf(pos, "test %s: %s", name, translate(err, file, 0).Msg)
		u.failed = true
		return u
	}
	u.tpl = t
	return u
}

// renderTest renders a generic test unit, reporting errors at the test's
// position in its YAML file.
func (c *compilation) renderTest(u *unit) {
	if u.failed || u.tpl == nil {
		return
	}
	st := &renderState{c: c, u: u, pass: final}
	out, terr := c.render(u.tpl, st, u.file.Path, 0, nil)
	if terr != nil {
		c.errorf(u.node.Pos, "test %s: %s", u.node.Name, terr.Msg)
		u.failed = true
		return
	}
	u.rendered = strings.TrimSpace(out)
	u.deps = st.deps
}

func describeOwner(o testOwner, column string) string {
	s := string(o.node.ResourceType) + " " + o.node.Name
	if o.node.Source != nil {
		s = "source " + o.node.Source.SourceName + "." + o.node.Source.TableName
	}
	if column != "" {
		s = "column " + column + " of " + s
	}
	return s
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// maxTestName is the longest test name kept as is; longer names are cut
// and end in a hash of the full name, as dbt does.
const maxTestName = 64

// testName is dbt's name of a generic test: the test, the owner, the
// column and the argument values, e.g. accepted_values_stg_logins_device__ios__android__web.
func testName(test, owner, column string, args map[string]any) string {
	parts := []string{test, owner}
	if column != "" {
		parts = append(parts, column)
	}
	name := strings.Join(parts, "_")
	var vals []string
	for _, k := range sortedKeys(args) {
		vals = append(vals, flatten(args[k])...)
	}
	if len(vals) > 0 {
		name += "__" + strings.Join(vals, "__")
	}
	name = strings.Trim(nonWord.ReplaceAllString(name, "_"), "_")
	if len(name) > maxTestName {
		return hashName(name, name)
	}
	return name
}

// hashName is prefix cut to fit maxTestName with a hash of key appended.
func hashName(key, prefix string) string {
	sum := md5.Sum([]byte(key))
	h := hex.EncodeToString(sum[:])[:10]
	if len(prefix) > maxTestName-11 {
		prefix = prefix[:maxTestName-11]
	}
	return strings.TrimRight(prefix, "_") + "_" + h
}

func flatten(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, k := range sortedKeys(x) {
			out = append(out, flatten(x[k])...)
		}
		return out
	case nil:
		return nil
	}
	return []string{fmt.Sprint(v)}
}

// refExprRE matches a test argument that is a ref() or source() call,
// rendered as Jinja (so it resolves and records the dependency).
var refExprRE = regexp.MustCompile(`^\s*(ref|source)\(\s*['"][^'"]+['"]\s*(,\s*['"][^'"]+['"]\s*)?\)\s*$`)

// jinjaArg renders a YAML value as a Jinja expression: ref()/source()
// strings as calls, every other value as a literal.
func jinjaArg(v any) string {
	if s, ok := v.(string); ok && refExprRE.MatchString(s) {
		return strings.TrimSpace(s)
	}
	return jinjaLiteral(v)
}

// jinjaLiteral renders a YAML value as a Jinja literal.
func jinjaLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return strconv.Quote(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int, int64, float64:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = jinjaLiteral(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strconv.Quote(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, strconv.Quote(k)+": "+jinjaLiteral(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return strconv.Quote(fmt.Sprint(v))
}

// rejectsOptions names the tables DuckDB's CSV reader keeps malformed rows
// in when a CSV source sets store_rejects: true, unless the options name
// them: elt_rejects_<table>_errors and elt_rejects_<table>_scans. The
// runner moves their rows into the reading model's <model>__rejects.
func rejectsOptions(format string, t *project.SourceTable) string {
	if format != "csv" || t.Options["store_rejects"] != true {
		return ""
	}
	var b strings.Builder
	base := nonWord.ReplaceAllString("elt_rejects_"+t.Name, "_")
	if _, ok := t.Options["rejects_table"]; !ok {
		b.WriteString(", rejects_table=" + sqlString(base+"_errors"))
	}
	if _, ok := t.Options["rejects_scan"]; !ok {
		b.WriteString(", rejects_scan=" + sqlString(base+"_scans"))
	}
	return b.String()
}

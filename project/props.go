package project

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// propsFile holds the entries of one properties file, in file order.
type propsFile struct {
	models, seeds []*ModelProps
	sources       []*Source
	unitTests     []*UnitTest
}

// parseProps reads the root mapping of a properties file.
func (c *fileCtx) parseProps(root *yaml.Node) *propsFile {
	m := c.asMap(root, "a properties file", false)
	if m == nil {
		return nil
	}
	m.check("properties file", "version", "models", "seeds", "sources", "unit_tests")
	if v := m.get("version"); v != nil {
		if n := deref(v); n.Kind != yaml.ScalarNode || n.Value != "2" {
			c.errorf(v, "\"version\" must be 2, got %s — write version: 2 or leave it out", describe(v))
		}
	}
	f := &propsFile{}
	for _, n := range m.seq("models") {
		if mp := c.modelProps(n, "model"); mp != nil {
			f.models = append(f.models, mp)
		}
	}
	for _, n := range m.seq("seeds") {
		if mp := c.modelProps(n, "seed"); mp != nil {
			f.seeds = append(f.seeds, mp)
		}
	}
	for _, n := range m.seq("sources") {
		if s := c.source(n); s != nil {
			f.sources = append(f.sources, s)
		}
	}
	for _, n := range m.seq("unit_tests") {
		if u := c.unitTest(n); u != nil {
			f.unitTests = append(f.unitTests, u)
		}
	}
	return f
}

// named returns n as a mapping with its required "name", and the name.
// kind names the entry in messages ("model", "column of model \"x\"").
func (c *fileCtx) named(n *yaml.Node, kind string) (*mapping, string) {
	m := c.asMap(n, "each "+kind+" entry", false)
	if m == nil {
		return nil, ""
	}
	nn := m.get("name")
	name := c.str(nn, "name")
	if name == "" {
		for _, e := range m.entries {
			if suggest(e.Key, []string{"name"}) == "name" && e.Key != "name" {
				c.errorf(e.K, "unknown key %q in %s entry — did you mean \"name\"?", e.Key, kind)
				return nil, ""
			}
		}
		c.errorf(deref(n), "%s entry is missing required key \"name\"", kind)
		return nil, ""
	}
	return m, name
}

func (c *fileCtx) modelProps(n *yaml.Node, kind string) *ModelProps {
	m, name := c.named(n, kind)
	if m == nil {
		return nil
	}
	where := describeEntry(kind, name, "")
	m.check(where, "name", "description", "config", "columns", "data_tests", "tests", "meta", "tags", "docs")
	mp := &ModelProps{
		Name:        name,
		Description: m.str("description"),
		Config:      c.config(m.get("config"), where),
		Meta:        m.anyMap("meta"),
		Tags:        m.strList("tags"),
		File:        c.file,
		Pos:         c.pos(n),
	}
	mp.Columns = c.columns(m, where)
	mp.Tests = c.tests(m, where)
	if dn := m.get("docs"); !isNull(dn) {
		dm := c.asMap(dn, `"docs"`, false)
		dm.check("docs of "+where, "show", "node_color")
		dm.boolean("show")
		dm.str("node_color")
	}
	return mp
}

// config reads a `config:` mapping of YAML properties.
func (c *fileCtx) config(n *yaml.Node, where string) ConfigMap {
	out := ConfigMap{}
	if isNull(n) {
		return out
	}
	m := c.asMap(n, `"config"`, true)
	if m == nil {
		return out
	}
	m.check("config of "+where, configKeys...)
	for _, e := range m.entries {
		if contains(configKeys, e.Key) {
			out[e.Key] = c.configValue(e.V)
		}
	}
	return out
}

func (c *fileCtx) columns(m *mapping, where string) []*ColumnProps {
	var out []*ColumnProps
	seen := map[string]int{}
	for _, n := range m.seq("columns") {
		cm, name := c.named(n, "column of "+where)
		if cm == nil {
			continue
		}
		cw := describeEntry("column", name, where)
		cm.check(cw, "name", "description", "data_type", "meta", "tags", "data_tests", "tests")
		col := &ColumnProps{
			Name:        name,
			Description: cm.str("description"),
			DataType:    cm.str("data_type"),
			Meta:        cm.anyMap("meta"),
			Tags:        cm.strList("tags"),
			Pos:         c.pos(n),
		}
		col.Tests = c.tests(cm, cw)
		key := strings.ToLower(name)
		if line, dup := seen[key]; dup {
			c.errorf(n, "%s is documented twice (also line %d) — keep one entry", cw, line)
			continue
		}
		seen[key] = col.Pos.Line
		out = append(out, col)
	}
	return out
}

// testConfigKeys are the config keys a data test accepts under config: or
// beside its arguments.
var testConfigKeys = []string{"enabled", "error_if", "limit", "meta", "severity", "store_failures", "tags", "warn_if", "where"}

// tests reads data_tests (or its alias tests) of an entry.
func (c *fileCtx) tests(m *mapping, where string) []*TestSpec {
	key := "data_tests"
	if m.get("tests") != nil {
		if m.get("data_tests") != nil {
			c.errorf(m.entries[m.find("tests")].K, "both data_tests and tests are given in %s — keep data_tests", where)
			return nil
		}
		key = "tests"
	}
	var out []*TestSpec
	for _, n := range m.seq(key) {
		if t := c.testSpec(n, where); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// testSpec reads one item of a tests list: `- name`, `- name: {args}`.
func (c *fileCtx) testSpec(orig *yaml.Node, where string) *TestSpec {
	n := deref(orig)
	t := &TestSpec{Args: map[string]any{}, Config: ConfigMap{}, Pos: c.pos(orig)}
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			c.errorf(n, "empty test in %s — write a test name such as unique", where)
			return nil
		}
		t.Name = n.Value
		return t
	case yaml.MappingNode:
	default:
		c.errorf(n, "a test in %s must be a name or `name: {arguments}`, got %s", where, describe(n))
		return nil
	}
	m := c.asMap(n, "test", false)
	if len(m.entries) == 0 {
		c.errorf(n, "empty test in %s — write a test name such as unique", where)
		return nil
	}
	if len(m.entries) != 1 {
		keys := make([]string, len(m.entries))
		for i, e := range m.entries {
			keys[i] = e.Key
		}
		c.errorf(n, "a test in %s must have exactly one key, the test's name, got %s — write `- test_name: {arguments}`", where, strings.Join(keys, ", "))
		return nil
	}
	t.Name = m.entries[0].Key
	tw := describeEntry("test", t.Name, where)
	if isNull(m.entries[0].V) {
		return t
	}
	args := c.asMap(m.entries[0].V, "the arguments of "+tw, false)
	if args == nil {
		return nil
	}
	for _, e := range args.entries {
		norm := strings.ReplaceAll(e.Key, "-", "_")
		switch {
		case e.Key == "config":
			cm := c.asMap(e.V, `"config"`, true)
			cm.check("config of "+tw, testConfigKeys...)
			if cm != nil {
				for _, ce := range cm.entries {
					if contains(testConfigKeys, ce.Key) {
						c.setTestConfig(t, ce.Key, ce)
					}
				}
			}
		case e.Key == "arguments":
			if am := c.asMap(e.V, `"arguments"`, false); am != nil {
				for _, ae := range am.entries {
					c.setTestArg(t, ae)
				}
			}
		case e.Key == "name":
			t.CustomName = c.str(e.V, "name")
		case contains(testConfigKeys, norm):
			c.setTestConfig(t, norm, e)
		default:
			c.setTestArg(t, e)
		}
	}
	return t
}

func (c *fileCtx) setTestConfig(t *TestSpec, key string, e entry) {
	if _, dup := t.Config[key]; dup {
		c.errorf(e.K, "config key %q of test %q is set twice — keep one", key, t.Name)
		return
	}
	t.Config[key] = c.configValue(e.V)
}

func (c *fileCtx) setTestArg(t *TestSpec, e entry) {
	if _, dup := t.Args[e.Key]; dup {
		c.errorf(e.K, "argument %q of test %q is given twice — keep one", e.Key, t.Name)
		return
	}
	t.Args[e.Key] = c.value(e.V)
}

var formats = []string{"csv", "json", "parquet"}

func (c *fileCtx) source(n *yaml.Node) *Source {
	m, name := c.named(n, "source")
	if m == nil {
		return nil
	}
	where := describeEntry("source", name, "")
	m.check(where, "name", "description", "schema", "meta", "tags", "tables")
	s := &Source{
		Name:        name,
		Description: m.str("description"),
		Schema:      m.str("schema"),
		Meta:        m.anyMap("meta"),
		Tags:        m.strList("tags"),
		File:        c.file,
		Pos:         c.pos(n),
	}
	seen := map[string]int{}
	for _, tn := range m.seq("tables") {
		t := c.sourceTable(tn, where)
		if t == nil {
			continue
		}
		if line, dup := seen[t.Name]; dup {
			c.errorf(tn, "table %q of %s is defined twice (also line %d) — keep one entry", t.Name, where, line)
			continue
		}
		seen[t.Name] = t.Pos.Line
		s.Tables = append(s.Tables, t)
	}
	return s
}

func (c *fileCtx) sourceTable(n *yaml.Node, source string) *SourceTable {
	m, name := c.named(n, "table of "+source)
	if m == nil {
		return nil
	}
	where := describeEntry("table", name, source)
	m.check(where, "name", "description", "path", "format", "hive_partitioning", "options", "schema",
		"identifier", "loaded_at_field", "event_time", "freshness", "stream", "columns", "data_tests", "tests", "meta", "tags")
	t := &SourceTable{
		Name:             name,
		Description:      m.str("description"),
		Path:             m.str("path"),
		Format:           strings.ToLower(m.str("format")),
		HivePartitioning: m.boolean("hive_partitioning"),
		Options:          m.anyMap("options"),
		Schema:           m.str("schema"),
		Identifier:       m.str("identifier"),
		LoadedAtField:    m.str("loaded_at_field"),
		EventTime:        m.str("event_time"),
		Meta:             m.anyMap("meta"),
		Tags:             m.strList("tags"),
		Pos:              c.pos(n),
	}
	t.Columns = c.columns(m, where)
	t.Tests = c.tests(m, where)
	switch {
	case t.Format != "" && !contains(formats, t.Format):
		c.errorf(m.get("format"), "format %q of %s is not one of csv, json, parquet%s", t.Format, where, didYouMean(t.Format, formats))
	case t.Path != "" && t.Format == "":
		t.Format = formatOf(t.Path)
		if t.Format == "" {
			c.errorf(m.get("path"), "cannot tell the format of %q from its extension — add format: csv, json or parquet", t.Path)
		}
	case t.Path == "" && t.Format != "":
		c.errorf(m.get("format"), "%s has a format but no path — add path: or remove format:", where)
	}
	if t.Path != "" && (t.Identifier != "" || t.Schema != "") {
		c.errorf(m.get("path"), "%s has both a path and a schema/identifier — a source reads files (path) or a table (schema, identifier), not both", where)
	}
	if !t.HivePartitioning && t.Path == "" && m.get("hive_partitioning") != nil {
		c.errorf(m.get("hive_partitioning"), "hive_partitioning needs a path in %s", where)
	}
	if fn := m.get("freshness"); !isNull(fn) {
		t.Freshness = c.freshness(fn, where)
	}
	if sn := m.get("stream"); !isNull(sn) {
		t.Stream = c.streamSource(sn, where)
		if t.Stream != nil && t.EventTime == "" {
			c.errorf(sn, "stream %s needs event_time: the column with each event's time, which windows and the watermark use — add event_time: <column>", where)
		}
		if t.Stream != nil && (t.Identifier != "" || t.Schema != "") {
			c.errorf(sn, "%s has both a stream and a schema/identifier — a stream source reads its stream: block only", where)
		}
	}
	return t
}

// formatOf derives a reader format from a path's extension, ignoring a
// compression suffix; "" when unknown.
func formatOf(p string) string {
	p = strings.ToLower(p)
	for _, z := range []string{".gz", ".zst", ".zstd", ".bz2"} {
		p = strings.TrimSuffix(p, z)
	}
	switch path.Ext(p) {
	case ".csv", ".tsv", ".txt":
		return "csv"
	case ".parquet":
		return "parquet"
	case ".json", ".jsonl", ".ndjson":
		return "json"
	}
	return ""
}

var periods = []string{"minute", "hour", "day"}

func (c *fileCtx) freshness(n *yaml.Node, where string) *Freshness {
	m := c.asMap(n, `"freshness"`, false)
	if m == nil {
		return nil
	}
	fw := "freshness of " + where
	m.check(fw, "warn_after", "error_after")
	f := &Freshness{}
	period := func(key string) *Period {
		pn := m.get(key)
		if isNull(pn) {
			return nil
		}
		pm := c.asMap(pn, fmt.Sprintf("%q", key), false)
		if pm == nil {
			return nil
		}
		pm.check(key+" of "+fw, "count", "period")
		p := &Period{Period: pm.str("period")}
		if pm.required("count", key) != nil {
			if p.Count = pm.integer("count", 1); p.Count <= 0 {
				c.errorf(pm.get("count"), "\"count\" must be positive, got %d", p.Count)
			}
		}
		if pm.required("period", key) != nil && !contains(periods, p.Period) {
			c.errorf(pm.get("period"), "\"period\" must be minute, hour or day, got %q%s", p.Period, didYouMean(strings.TrimSuffix(p.Period, "s"), periods))
		}
		return p
	}
	f.WarnAfter = period("warn_after")
	f.ErrorAfter = period("error_after")
	return f
}

// describeEntry renders `kind "name"` or `kind "name" of parent` for messages,
// like fmt's %q but without its cost for the plain names nearly every
// entry has.
func describeEntry(kind, name, parent string) string {
	q := strconv.Quote(name)
	if parent == "" {
		return kind + " " + q
	}
	return kind + " " + q + " of " + parent
}

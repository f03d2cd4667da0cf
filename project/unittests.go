package project

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// inputRE matches a unit test input: ref('x') or source('s', 't'), with
// either kind of quotes.
var inputRE = regexp.MustCompile(`^\s*(ref\(\s*['"][^'"]+['"]\s*\)|source\(\s*['"][^'"]+['"]\s*,\s*['"][^'"]+['"]\s*\))\s*$`)

func (c *fileCtx) unitTest(n *yaml.Node) *UnitTest {
	m, name := c.named(n, "unit test")
	if m == nil {
		return nil
	}
	where := describeEntry("unit test", name, "")
	m.check(where, "name", "description", "model", "given", "expect")
	u := &UnitTest{
		Name:        name,
		Description: m.str("description"),
		File:        c.file,
		Pos:         c.pos(n),
	}
	if mn := m.required("model", where); mn != nil {
		u.Model = c.str(mn, "model")
	}
	for _, gn := range m.seq("given") {
		gm := c.asMap(gn, "each item of \"given\"", false)
		if gm == nil {
			continue
		}
		gw := "given of " + where
		gm.check(gw, "input", "rows", "csv", "format")
		g := &UnitGiven{}
		if in := gm.required("input", "given"); in != nil {
			g.Input = c.str(in, "input")
			if !inputRE.MatchString(g.Input) {
				c.errorf(in, "input %q of %s must be ref('model') or source('source', 'table')", g.Input, where)
			}
		}
		g.UnitRows = c.unitRows(gm, gn, gw, false)
		u.Given = append(u.Given, g)
	}
	if en := m.required("expect", where); en != nil {
		if em := c.asMap(en, `"expect"`, false); em != nil {
			ew := "expect of " + where
			em.check(ew, "rows", "csv", "format")
			u.Expect = c.unitRows(em, en, ew, true)
		}
	}
	return u
}

// unitRows reads fixture rows: `rows:` as a list of mappings, `csv:` as
// text, or dbt's `format: csv` with `rows:` as text. When required, one of
// them must be given.
func (c *fileCtx) unitRows(m *mapping, n *yaml.Node, where string, required bool) UnitRows {
	r := UnitRows{Pos: c.pos(n)}
	format := m.str("format")
	switch format {
	case "", "dict", "csv":
	default:
		c.errorf(m.get("format"), "\"format\" of %s must be dict or csv, got %q", where, format)
		return r
	}
	rows, csv := m.get("rows"), m.get("csv")
	switch {
	case rows != nil && csv != nil:
		c.errorf(csv, "%s has both rows: and csv: — keep one", where)
	case csv != nil:
		r.CSV = c.str(csv, "csv")
		r.Pos = c.pos(csv)
	case rows != nil && format == "csv":
		r.CSV = c.str(rows, "rows")
		r.Pos = c.pos(rows)
	case rows != nil:
		r.Pos = c.pos(rows)
		r.Rows = []map[string]any{}
		for _, row := range c.seq(rows, "rows") {
			if deref(row).Kind != yaml.MappingNode {
				c.errorf(row, "each row of %s must be a mapping of column: value, got %s", where, describe(row))
				continue
			}
			v, _ := c.value(row).(map[string]any)
			r.Rows = append(r.Rows, v)
		}
	case required:
		c.errorf(n, "%s needs rows: (a list of mappings) or csv: (text)", where)
	}
	return r
}

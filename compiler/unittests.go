package compiler

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// FailuresSchema is the schema of the tables store_failures appends to.
const FailuresSchema = "elt_failures"

// unitInputRE splits a unit test input: ref('x') or source('s', 't').
var unitInputRE = regexp.MustCompile(`^\s*(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*$`)

// givenKey normalises a unit test input to "ref:x" or "source:s.t"; ok is
// false for anything else.
func givenKey(input string) (key string, ok bool) {
	m := unitInputRE.FindStringSubmatch(input)
	switch {
	case m == nil:
		return "", false
	case m[1] == "ref" && m[3] == "":
		return "ref:" + m[2], true
	case m[1] == "source" && m[3] != "":
		return "source:" + m[2] + "." + m[3], true
	}
	return "", false
}

// given resolves ref()/source() inside a unit test render to the fixture
// table of that input; an input the test does not give is an error.
func (st *renderState) given(key, call string) (any, error) {
	if t, ok := st.givens[key]; ok {
		return relation{expr: quoteIdent(t)}, nil
	}
	return nil, fmt.Errorf("the model reads %s, which the unit test does not give — add `- input: %s` with its rows under given:", call, call)
}

// placeFailures gives a data test that stores its failures the schema of
// the table they go to (a table of the test's name in FailuresSchema).
func placeFailures(n *manifest.Node) {
	if n.Config.StoreFailures {
		n.Schema = FailuresSchema
	}
}

// compileUnitTests compiles every unit test of the project into a test
// node (test_type unit): the model's SQL rendered with each ref() and
// source() replaced by a fixture table, the fixtures and the expected
// rows. The node depends on the model, so selecting the model selects it.
func (c *compilation) compileUnitTests() {
	names := map[string]bool{}
	for _, u := range c.tests {
		names[u.node.Name] = true
		placeFailures(u.node)
	}
	for _, ut := range c.p.UnitTests {
		if u := c.unitTest(ut, names); u != nil {
			names[u.node.Name] = true
			c.tests = append(c.tests, u)
		}
	}
}

func (c *compilation) unitTest(ut *project.UnitTest, names map[string]bool) *unit {
	where := "unit test " + ut.Name
	if names[ut.Name] {
		c.diags.Errorf(ut.Pos, "%s: the name is already used by another test — rename it", where)
		return nil
	}
	m := c.models[ut.Model]
	if m == nil {
		hint := "no model is called " + ut.Model
		if s := manifest.DidYouMean(ut.Model, c.refNames); s != "" {
			hint = "did you mean " + s + "?"
		}
		c.diags.Errorf(ut.Pos, "%s: model %s not found — %s", where, ut.Model, hint)
		return nil
	}
	if !m.node.Config.Enabled || m.failed || m.tpl == nil {
		return nil
	}
	info := &manifest.UnitTestInfo{Model: m.node.ID, Expect: manifest.UnitRows{Rows: ut.Expect.Rows, CSV: ut.Expect.CSV}}
	givens := map[string]string{}
	for i, g := range ut.Given {
		key, ok := givenKey(g.Input)
		if !ok {
			continue // project.Load reports the malformed input
		}
		if _, dup := givens[key]; dup {
			c.diags.Errorf(g.Pos, "%s: input %s is given twice — keep one", where, g.Input)
			return nil
		}
		table := "elt_given_" + strconv.Itoa(i+1)
		givens[key] = table
		info.Given = append(info.Given, manifest.UnitInput{
			Input: g.Input, Table: table, Relation: c.realRelation(key),
			UnitRows: manifest.UnitRows{Rows: g.Rows, CSV: g.CSV},
		})
	}
	st := &renderState{c: c, u: m, pass: final, givens: givens}
	out, terr := c.render(m.tpl, st, m.file.Path, 0, &m.rel)
	if terr != nil {
		c.diags.Errorf(ut.Pos, "%s of model %s: %s", where, ut.Model, terr.Msg)
		return nil
	}
	pos := ut.Pos
	if pos.File == "" {
		pos = diag.Pos{File: ut.File}
	}
	n := &manifest.Node{
		ID: manifest.TestID(ut.Name), ResourceType: manifest.Test, Name: ut.Name, Path: ut.File, Pos: pos,
		Description: ut.Description, Tags: m.node.Tags, RawSQL: m.node.RawSQL, CompiledSQL: trimSQL(out),
		CompiledPath: "target/compiled/" + ut.File + "/" + ut.Name + ".sql",
		Config:       manifest.Config{Enabled: true, Materialized: "test", Severity: "error"},
		TestInfo:     &manifest.TestInfo{TestType: "unit", AttachedNode: m.node.ID, Unit: info},
	}
	return &unit{file: &project.SQLFile{Path: ut.File, Name: ut.Name}, node: n,
		deps: map[manifest.NodeID]bool{m.node.ID: true}}
}

// realRelation is the relation an input names in the database (or a file
// source's reader), "" when unknown.
func (c *compilation) realRelation(key string) string {
	switch {
	case len(key) > 4 && key[:4] == "ref:":
		name := key[4:]
		if u := c.models[name]; u != nil && u.node.Relation != "" {
			return u.node.Relation
		}
		if s := c.seeds[name]; s != nil {
			return s.Relation
		}
	case len(key) > 7 && key[:7] == "source:":
		for id, n := range c.sources {
			if "source:"+string(id)[len("source."):] == key {
				return n.Relation
			}
		}
	}
	return ""
}

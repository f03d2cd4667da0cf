package compiler

// The generator of TestFuzzPatch (patch_fuzz_test.go): random projects
// (models in folders, refs, every materialization, folder defaults,
// properties files with tests and name clashes, macros, singular tests,
// seeds, vars), their files, and random edits of every kind partial
// parsing takes.

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ---------- project model ----------

type fzModel struct {
	name, folder string
	refs         []string // models or seeds
	source       bool
	mat          string // "", view, table, ephemeral, incremental, snapshot
	alias        string
	schema       string
	tags         string
	disabled     int // 0 enabled, 1 enabled=false, 2 enabled=flag_on() (macro), 3 enabled=true explicitly
	macroCall    string
	comment      string
	viaMacroCfg  bool // calls set_tbl() which calls config()
	deleteCond   bool
	eventTime    bool
	useThis      bool
	useVar       bool
	extra        string // raw Jinja appended
}

type fzTest struct {
	kind       string // not_null unique accepted_values relationships positive accepted_range
	to         string // relationships target
	values     []string
	severity   string
	store      bool
	where      string
	disabled   bool
	customName string
	beside     bool // config beside args instead of config:
}

type fzCol struct {
	name, desc string
	tests      []*fzTest
}

type fzEntry struct {
	model string
	desc  string
	cols  []*fzCol
	tests []*fzTest
	cfg   string // "", "mat", "tags", "disabled", "alias"
}

type fzProps struct {
	srcRel    string // a model the source's test relates to
	seedRel   string
	utGiven   map[string][]string
	path      string
	entries   []*fzEntry
	sources   bool
	unitTests []string // models
	seedProps bool
}

type fzMacro struct {
	name, params, body string
	isTest             bool
}

type fzMacroFile struct {
	path   string
	macros []*fzMacro
	extra  string
}

type fzSingular struct {
	name, ref string
	macroCall string
	cfg       int // 0 none, 1 disabled, 2 warn+store, 3 enabled=flag_on()
	comment   string
}

type fzSeed struct {
	name string
	rows int
	tag  string
}

type fzProject struct {
	folders     map[string]string // folder -> project.yaml defaults ("" none)
	rootByName  bool              // models: p: {...}
	models      []*fzModel
	props       []*fzProps
	macros      []*fzMacroFile
	singular    []*fzSingular
	seeds       []*fzSeed
	seedDefault bool
	vars        string // project.yaml's vars entry, its lines under "vars:" ("" none)
	varsFirst   bool   // the vars entry comes right after name:, before the other entries
}

func (p *fzProject) clone() *fzProject {
	q := &fzProject{folders: map[string]string{}, rootByName: p.rootByName, seedDefault: p.seedDefault, vars: p.vars, varsFirst: p.varsFirst}
	for k, v := range p.folders {
		q.folders[k] = v
	}
	for _, m := range p.models {
		c := *m
		c.refs = append([]string(nil), m.refs...)
		q.models = append(q.models, &c)
	}
	cloneTests := func(ts []*fzTest) []*fzTest {
		var out []*fzTest
		for _, t := range ts {
			c := *t
			c.values = append([]string(nil), t.values...)
			out = append(out, &c)
		}
		return out
	}
	for _, pf := range p.props {
		c := &fzProps{path: pf.path, sources: pf.sources, unitTests: append([]string(nil), pf.unitTests...), seedProps: pf.seedProps, srcRel: pf.srcRel, seedRel: pf.seedRel, utGiven: pf.utGiven}
		for _, e := range pf.entries {
			ce := &fzEntry{model: e.model, desc: e.desc, cfg: e.cfg, tests: cloneTests(e.tests)}
			for _, col := range e.cols {
				ce.cols = append(ce.cols, &fzCol{name: col.name, desc: col.desc, tests: cloneTests(col.tests)})
			}
			c.entries = append(c.entries, ce)
		}
		q.props = append(q.props, c)
	}
	for _, mf := range p.macros {
		c := &fzMacroFile{path: mf.path, extra: mf.extra}
		for _, m := range mf.macros {
			cm := *m
			c.macros = append(c.macros, &cm)
		}
		q.macros = append(q.macros, c)
	}
	for _, s := range p.singular {
		c := *s
		q.singular = append(q.singular, &c)
	}
	for _, s := range p.seeds {
		c := *s
		q.seeds = append(q.seeds, &c)
	}
	return q
}

func (p *fzProject) model(name string) *fzModel {
	for _, m := range p.models {
		if m.name == name {
			return m
		}
	}
	return nil
}

// ---------- rendering ----------

func (m *fzModel) path() string {
	if m.folder == "" {
		return "models/" + m.name + ".sql"
	}
	return "models/" + m.folder + "/" + m.name + ".sql"
}

func (m *fzModel) sql() string {
	var kw []string
	switch m.mat {
	case "":
	case "incremental":
		kw = append(kw, "materialized='incremental'", "unique_key='id'")
		if m.deleteCond {
			kw = append(kw, "incremental_strategy='merge'", "updated_at='id'", "delete_condition=\"op = 'd'\"")
		}
	case "snapshot":
		kw = append(kw, "materialized='snapshot'", "strategy='check'", "check_cols='all'", "unique_key='id'")
	case "microbatch":
		kw = append(kw, "materialized='incremental'", "incremental_strategy='microbatch'", "event_time='ts'", "batch_size='day'", "begin='2025-01-01'")
	default:
		kw = append(kw, "materialized='"+m.mat+"'")
	}
	if m.eventTime && m.mat != "microbatch" {
		kw = append(kw, "event_time='ts'")
	}
	if m.alias != "" {
		kw = append(kw, "alias='"+m.alias+"'")
	}
	if m.schema != "" {
		kw = append(kw, "schema='"+m.schema+"'")
	}
	if m.tags != "" {
		kw = append(kw, "tags=['"+m.tags+"']")
	}
	if m.deleteCond && m.mat != "incremental" {
		kw = append(kw, "delete_condition=\"op = 'd'\"")
	}
	switch m.disabled {
	case 1:
		kw = append(kw, "enabled=false")
	case 2:
		kw = append(kw, "enabled=flag_on()")
	case 3:
		kw = append(kw, "enabled=true")
	}
	var b strings.Builder
	if len(kw) > 0 {
		b.WriteString("{{ config(" + strings.Join(kw, ", ") + ") }}\n")
	}
	if m.viaMacroCfg {
		b.WriteString("{{ set_tbl() }}\n")
	}
	expr := "2"
	if m.macroCall != "" {
		expr = "{{ " + m.macroCall + " }}"
	}
	b.WriteString("select 1 as id, 'a' as status, " + expr + " as amount, 'u' as op, now() as ts")
	if m.useThis {
		b.WriteString(", '{{ this }}' as me")
	}
	if m.useVar {
		b.WriteString(", {{ var('v', 0) }} as v")
	}
	if len(m.refs) > 0 || m.source {
		b.WriteString("\nfrom ")
		var parts []string
		for _, r := range m.refs {
			parts = append(parts, "{{ ref('"+r+"') }}")
		}
		if m.source {
			parts = append(parts, "{{ source('raw', 'events') }}")
		}
		b.WriteString(strings.Join(parts, ", "))
	}
	if m.mat == "incremental" {
		b.WriteString("\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}")
	}
	if m.comment != "" {
		b.WriteString("\n-- " + m.comment)
	}
	if m.extra != "" {
		b.WriteString("\n" + m.extra)
	}
	return b.String() + "\n"
}

var fzExtras = []string{
	"{% if execute %}-- {{ lbl() }}{% endif %}",
	"{% if not execute %}{{ cents(1) }}{% endif %}",
	"{# {{ ref('m0') }} #}",
	"-- {{ ref('m0') }}",
	"{% macro cents(x) %}local{% endmacro %}{{ cents(3) }}",
	"{{ config(tags=['late']) }}",
	"{{ config(materialized='table') }}{{ config(materialized='view') }}",
	"{% set z = lbl() %}-- {{ z }}",
	"{% if is_incremental() %}-- inc {{ cents('x') }}{% endif %}",
	"{% call wrap_call() %}inner{% endcall %}",
	"{{ config(meta={'owner': 'me', 'list': []}) }}",
	"{{ config(pre_hook='select {{ lbl() }}') }}",
	"{{ config(event_time='ts') }}",
}

func (t *fzTest) yaml(ind string) string {
	var args []string
	switch t.kind {
	case "accepted_values":
		args = append(args, "values: ["+strings.Join(t.values, ", ")+"]")
	case "relationships":
		args = append(args, "to: ref('"+t.to+"')", "field: id")
	case "accepted_range":
		args = append(args, "min_value: 0", "max_value: 100")
	case "min_val":
		if len(t.values) > 0 {
			args = append(args, "min: "+strconv.Itoa(len(t.values)))
		}
	case "expression_is_true":
		args = append(args, "expression: \"id >= "+strconv.Itoa(len(t.values))+"\"")
	}
	var cfg []string
	if t.severity != "" {
		cfg = append(cfg, "severity: "+t.severity)
	}
	if t.store {
		cfg = append(cfg, "store_failures: true")
	}
	if t.where != "" {
		cfg = append(cfg, "where: \""+t.where+"\"")
	}
	if t.disabled {
		cfg = append(cfg, "enabled: false")
	}
	if t.customName != "" {
		args = append(args, "name: "+t.customName)
	}
	if len(cfg) > 0 {
		if t.beside {
			args = append(args, cfg...)
		} else {
			args = append(args, "config: {"+strings.Join(cfg, ", ")+"}")
		}
	}
	if len(args) == 0 {
		return ind + "- " + t.kind + "\n"
	}
	var b strings.Builder
	b.WriteString(ind + "- " + t.kind + ":\n")
	for _, a := range args {
		b.WriteString(ind + "    " + a + "\n")
	}
	return b.String()
}

func (pf *fzProps) text() string {
	var b strings.Builder
	if len(pf.entries) > 0 {
		b.WriteString("models:\n")
	}
	for _, e := range pf.entries {
		b.WriteString("  - name: " + e.model + "\n")
		if e.desc != "" {
			b.WriteString("    description: \"" + e.desc + "\"\n")
		}
		switch e.cfg {
		case "mat":
			b.WriteString("    config: {materialized: table}\n")
		case "tags":
			b.WriteString("    config: {tags: [yt]}\n")
		case "disabled":
			b.WriteString("    config: {enabled: false}\n")
		case "alias":
			b.WriteString("    config: {alias: yaml_alias_" + e.model + "}\n")
		}
		if len(e.tests) > 0 {
			b.WriteString("    data_tests:\n")
			for _, t := range e.tests {
				b.WriteString(t.yaml("      "))
			}
		}
		if len(e.cols) > 0 {
			b.WriteString("    columns:\n")
			for _, c := range e.cols {
				b.WriteString("      - name: " + c.name + "\n")
				if c.desc != "" {
					b.WriteString("        description: \"" + c.desc + "\"\n")
				}
				if len(c.tests) > 0 {
					b.WriteString("        data_tests:\n")
					for _, t := range c.tests {
						b.WriteString(t.yaml("          "))
					}
				}
			}
		}
	}
	if pf.sources {
		b.WriteString("sources:\n  - name: raw\n    tables:\n      - name: events\n        path: data/events.csv\n        columns:\n          - name: id\n            data_tests:\n              - not_null\n")
		if pf.srcRel != "" {
			b.WriteString("              - relationships: {to: ref('" + pf.srcRel + "'), field: id}\n")
		}
	}
	if len(pf.unitTests) > 0 {
		b.WriteString("unit_tests:\n")
		for _, m := range pf.unitTests {
			b.WriteString("  - name: ut_" + m + "\n    model: " + m + "\n")
			if gv := pf.utGiven[m]; len(gv) > 0 {
				b.WriteString("    given:\n")
				for _, in := range gv {
					b.WriteString("      - input: " + in + "\n        rows:\n          - {id: 1}\n")
				}
			} else {
				b.WriteString("    given: []\n")
			}
			b.WriteString("    expect:\n      rows:\n        - {id: 1}\n")
		}
	}
	if pf.seedProps {
		b.WriteString("seeds:\n  - name: s0\n    description: a seed\n    columns:\n      - name: id\n        data_tests:\n          - unique\n")
		if pf.seedRel != "" {
			b.WriteString("          - relationships: {to: ref('" + pf.seedRel + "'), field: id}\n")
		}
	}
	if b.Len() == 0 {
		b.WriteString("models: []\n")
	}
	return b.String()
}

func (mf *fzMacroFile) text() string {
	var b strings.Builder
	if mf.extra != "" {
		b.WriteString(mf.extra + "\n")
	}
	for _, m := range mf.macros {
		if m.isTest {
			b.WriteString("{% test " + m.name + "(" + m.params + ") %}\n" + m.body + "\n{% endtest %}\n")
		} else {
			b.WriteString("{% macro " + m.name + "(" + m.params + ") %}" + m.body + "{% endmacro %}\n")
		}
	}
	return b.String()
}

func (s *fzSingular) text() string {
	var b strings.Builder
	switch s.cfg {
	case 1:
		b.WriteString("{{ config(enabled=false) }}\n")
	case 2:
		b.WriteString("{{ config(severity='warn', store_failures=true) }}\n")
	case 3:
		b.WriteString("{{ config(enabled=flag_on()) }}\n")
	}
	expr := "id"
	if s.macroCall != "" {
		expr = "{{ " + s.macroCall + " }}"
	}
	if s.ref != "" {
		b.WriteString("select " + expr + " from {{ ref('" + s.ref + "') }} where id < 0")
	} else {
		b.WriteString("select " + expr + " as id where false")
	}
	if s.comment != "" {
		b.WriteString("\n-- " + s.comment)
	}
	return b.String() + "\n"
}

func (p *fzProject) files() map[string]string {
	out := map[string]string{}
	var y strings.Builder
	y.WriteString("name: p\n")
	if p.vars != "" && p.varsFirst {
		y.WriteString("vars:\n" + p.vars)
	}
	var fs []string
	for f, d := range p.folders {
		if d != "" {
			fs = append(fs, f)
		}
	}
	sort.Strings(fs)
	if len(fs) > 0 || p.rootByName {
		y.WriteString("models:\n")
		for _, f := range fs {
			y.WriteString("  " + f + ": " + p.folders[f] + "\n")
		}
		if p.rootByName {
			y.WriteString("  p: {+tags: [rootp], +meta: {owner: p}}\n")
		}
	}
	if p.seedDefault {
		y.WriteString("seeds:\n  +schema: raw\n")
	}
	if p.vars != "" && !p.varsFirst {
		y.WriteString("vars:\n" + p.vars)
	}
	out["project.yaml"] = y.String()
	for _, m := range p.models {
		out[m.path()] = m.sql()
	}
	for _, pf := range p.props {
		out[pf.path] = pf.text()
	}
	for _, mf := range p.macros {
		out[mf.path] = mf.text()
	}
	for _, s := range p.singular {
		out["tests/"+s.name+".sql"] = s.text()
	}
	for _, s := range p.seeds {
		var b strings.Builder
		b.WriteString("id,name\n")
		for i := 0; i < s.rows; i++ {
			b.WriteString(strconv.Itoa(i) + "," + s.tag + "\n")
		}
		out["seeds/"+s.name+".csv"] = b.String()
	}
	return out
}

// ---------- generation ----------

var fzFolders = []string{"", "stg", "marts", "stg/deep", "p"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

func (g *fzGen) macroCallExpr() string {
	r := g.r
	switch r.Intn(7) {
	case 0:
		return "cents('amount')"
	case 1:
		return "lbl()"
	case 2:
		return "lbl('z')"
	case 3:
		return "wrap('id')"
	case 4:
		return "lbl(x='q')"
	case 5:
		return "cents(2)"
	case 6:
		return pick(r, []string{"dflt()", "(\"(select 1 from \" ~ src_m0() ~ \")\")", "dflt('k')"})
	}
	return ""
}

type fzGen struct {
	r *rand.Rand
}

var longCol = "amount_with_a_rather_long_column_name_for_hashing_purposes_x"

func (g *fzGen) test(p *fzProject, self string) *fzTest {
	r := g.r
	t := &fzTest{}
	t.kind = pick(r, []string{"not_null", "unique", "accepted_values", "relationships", "positive", "accepted_range", "not_null", "min_val", "exists_in"})
	switch t.kind {
	case "accepted_values":
		t.values = []string{"a", "b"}
		if r.Intn(2) == 0 {
			t.values = append(t.values, "c")
		}
	case "relationships":
		var cands []string
		for _, m := range p.models {
			if m.name != self {
				cands = append(cands, m.name)
			}
		}
		for _, s := range p.seeds {
			cands = append(cands, s.name)
		}
		if len(cands) == 0 {
			t.kind = "not_null"
		} else {
			t.to = pick(r, cands)
		}
	}
	if r.Intn(5) == 0 {
		t.severity = "warn"
	}
	if r.Intn(6) == 0 {
		t.store = true
	}
	if r.Intn(6) == 0 {
		t.where = "id > 0"
	}
	if r.Intn(8) == 0 {
		t.disabled = true
	}
	if r.Intn(8) == 0 {
		t.customName = pick(r, []string{"custom_a", "custom_b", "not_null_m1_id", "unique_m0_id", "custom_c"})
	}
	t.beside = r.Intn(2) == 0
	return t
}

func (g *fzGen) ensureEntry(p *fzProject, model string) *fzEntry {
	if pf, i := g.entryOf(p, model); pf != nil {
		return pf.entries[i]
	}
	e := &fzEntry{model: model}
	pf := pick(g.r, p.props)
	pf.entries = append(pf.entries, e)
	return e
}

func (g *fzGen) ensureCol(e *fzEntry, name string) *fzCol {
	for _, c := range e.cols {
		if c.name == name {
			return c
		}
	}
	c := &fzCol{name: name}
	e.cols = append(e.cols, c)
	return c
}

func (g *fzGen) modelTest() *fzTest {
	r := g.r
	t := &fzTest{kind: pick(r, []string{"expression_is_true", "not_empty"})}
	if r.Intn(4) == 0 {
		t.severity = "warn"
	}
	if r.Intn(6) == 0 {
		t.disabled = true
	}
	if r.Intn(6) == 0 {
		t.customName = pick(r, []string{"custom_m", "custom_a"})
	}
	if r.Intn(3) == 0 {
		t.values = []string{"x"}
	}
	return t
}

func (g *fzGen) entry(p *fzProject, model string) *fzEntry {
	r := g.r
	e := &fzEntry{model: model}
	if r.Intn(2) == 0 {
		e.desc = "desc " + strconv.Itoa(r.Intn(5))
	}
	ncol := r.Intn(3)
	names := []string{"id", "status", "amount", longCol, "status_x", "x"}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i := 0; i < ncol; i++ {
		c := &fzCol{name: names[i]}
		if r.Intn(3) == 0 {
			c.desc = "col"
		}
		for k := r.Intn(3); k > 0; k-- {
			c.tests = append(c.tests, g.test(p, model))
		}
		e.cols = append(e.cols, c)
	}
	if r.Intn(4) == 0 {
		e.tests = append(e.tests, g.modelTest())
	}
	if r.Intn(10) == 0 {
		e.cfg = pick(r, []string{"mat", "tags", "disabled", "alias"})
	}
	return e
}

func (g *fzGen) project() *fzProject {
	r := g.r
	p := &fzProject{folders: map[string]string{}}
	for _, f := range []string{"stg", "marts"} {
		switch r.Intn(6) {
		case 3:
			p.folders[f] = "{+pre-hook: \"select {{ lbl() }}\"}"
		case 4:
			p.folders[f] = "{+schema: s_" + f + ", deep: {+tags: [deep]}}"
			if r.Intn(2) == 0 {
				p.folders[f] = "{deep: {+schema: s_deep}}"
			}
		case 0:
			p.folders[f] = "{+schema: s_" + f + "}"
		case 1:
			p.folders[f] = "{+tags: [t_" + f + "]}"
		case 2:
			p.folders[f] = "{+materialized: table, +tags: [t_" + f + "]}"
		}
	}
	p.rootByName = r.Intn(4) == 0
	p.seedDefault = r.Intn(5) == 0
	if r.Intn(3) == 0 {
		p.vars = "  v: 3\n"
		p.varsFirst = r.Intn(2) == 0
	}
	nseeds := r.Intn(3)
	for i := 0; i < nseeds; i++ {
		p.seeds = append(p.seeds, &fzSeed{name: "s" + strconv.Itoa(i), rows: 1 + r.Intn(3), tag: "x"})
	}
	// macros
	util := &fzMacroFile{path: "macros/util.sql", macros: []*fzMacro{
		{name: "cents", params: "x", body: "({{ x }} * 100)"},
		{name: "positive", params: "model, column_name", body: "select * from {{ model }} where {{ column_name }} <= 0", isTest: true},
	}}
	other := &fzMacroFile{path: "macros/other.sql", macros: []*fzMacro{
		{name: "lbl", params: "x='a'", body: "'{{ x }}'"},
		{name: "wrap", params: "x", body: "{{ cents(x) }}"},
		{name: "flag_on", params: "", body: "{{ return(" + pick(r, []string{"true", "false"}) + ") }}"},
		{name: "dflt", params: "x=lbl('d')", body: "{{ x }}"},
		{name: "wrap_call", params: "", body: "[{{ caller() }}]"},
	}}
	tests := &fzMacroFile{path: "macros/tests.sql", macros: []*fzMacro{
		{name: "min_val", params: "model, column_name, min=0", body: "select * from {{ model }} where {{ column_name }} < {{ min }}", isTest: true},
		{name: "exists_in", params: "model, column_name", body: "select * from {{ model }} where {{ column_name }} not in (select id from {{ src_m0() }})", isTest: true},
		{name: "src_m0", params: "", body: "{{ ref('m0') }}"},
	}}
	if r.Intn(4) == 0 {
		tests.macros = append(tests.macros, &fzMacro{name: "not_null", params: "model, column_name", body: "select * from {{ model }} where {{ column_name }} is null /* mine */", isTest: true})
	}
	p.macros = append(p.macros, util, other, tests)
	useCfgMacro := r.Intn(6) == 0
	if useCfgMacro {
		p.macros = append(p.macros, &fzMacroFile{path: "macros/cfg.sql", macros: []*fzMacro{
			{name: "set_tbl", params: "", body: "{{ config(materialized='table') }}"},
		}})
	}
	n := 3 + r.Intn(6)
	for i := 0; i < n; i++ {
		m := &fzModel{name: "m" + strconv.Itoa(i), folder: pick(r, fzFolders[:4])}
		if i == n-1 && r.Intn(4) == 0 {
			m.name = "m0_status"
		}
		if p.rootByName && r.Intn(3) == 0 {
			m.folder = ""
		}
		// refs to earlier models
		for j := 0; j < i; j++ {
			if r.Intn(3) == 0 {
				m.refs = append(m.refs, "m"+strconv.Itoa(j))
			}
		}
		if len(p.seeds) > 0 && r.Intn(4) == 0 {
			m.refs = append(m.refs, pick(r, p.seeds).name)
		}
		switch r.Intn(16) {
		case 0:
			m.mat = "ephemeral"
		case 2:
			m.mat = "incremental"
			m.deleteCond = r.Intn(3) == 0
		case 3:
			if r.Intn(2) == 0 {
				m.mat = "snapshot"
			}
		case 4:
			m.mat = "table"
		case 5:
			m.mat = "view"
		case 6:
			if r.Intn(2) == 0 {
				m.mat = "microbatch"
			}
		}
		m.eventTime = r.Intn(4) == 0
		m.useThis = r.Intn(6) == 0
		m.useVar = r.Intn(6) == 0
		if r.Intn(6) == 0 {
			m.alias = "al_" + m.name
		}
		if r.Intn(6) == 0 {
			m.schema = "sch"
		}
		if r.Intn(8) == 0 {
			m.tags = "ft"
		}
		switch r.Intn(10) {
		case 0:
			m.disabled = 1
		case 1:
			m.disabled = 2
		}
		if r.Intn(2) == 0 {
			m.macroCall = g.macroCallExpr()
		}
		if useCfgMacro && r.Intn(3) == 0 {
			m.viaMacroCfg = true
		}
		if r.Intn(5) == 0 {
			m.extra = pick(r, fzExtras)
		}
		p.models = append(p.models, m)
	}
	// sources
	wantSources := r.Intn(5) == 0
	if wantSources {
		for _, m := range p.models {
			if r.Intn(3) == 0 {
				m.source = true
			}
		}
	}
	// props files
	nprops := 1 + r.Intn(2)
	for i := 0; i < nprops; i++ {
		folder := pick(r, []string{"", "stg/", "marts/"})
		path := "models/" + folder + "props" + strconv.Itoa(i) + ".yml"
		p.props = append(p.props, &fzProps{path: path})
	}
	for _, m := range p.models {
		if r.Intn(3) != 0 {
			pf := pick(r, p.props)
			pf.entries = append(pf.entries, g.entry(p, m.name))
		}
	}
	if wantSources {
		pick(r, p.props).sources = true
	}
	// Name clashes: a test on one model custom-named as another model's
	// generated test, or generated names that coincide.
	if r.Intn(3) == 0 && len(p.models) > 2 {
		a, b := p.models[r.Intn(len(p.models))], p.models[r.Intn(len(p.models))]
		if a != b {
			ea := g.ensureEntry(p, a.name)
			eb := g.ensureEntry(p, b.name)
			colB := g.ensureCol(eb, pick(r, []string{"id", "status"}))
			colB.tests = append(colB.tests, &fzTest{kind: "not_null"})
			colA := g.ensureCol(ea, pick(r, []string{"id", "amount"}))
			colA.tests = append(colA.tests, &fzTest{kind: pick(r, []string{"unique", "not_null"}), customName: "not_null_" + b.name + "_" + colB.name})
		}
	}
	if m := p.model("m0_status"); m != nil && r.Intn(2) == 0 {
		if m0 := p.model("m0"); m0 != nil {
			g.ensureCol(g.ensureEntry(p, "m0"), "status_x").tests = append(g.ensureCol(g.ensureEntry(p, "m0"), "status_x").tests, &fzTest{kind: "not_null"})
			g.ensureCol(g.ensureEntry(p, "m0_status"), "x").tests = append(g.ensureCol(g.ensureEntry(p, "m0_status"), "x").tests, &fzTest{kind: "not_null"})
		}
	}
	if r.Intn(6) == 0 {
		// a unit test of a model, giving its refs
		for _, m := range p.models {
			if m.disabled == 0 && r.Intn(2) == 0 && !strings.Contains(m.macroCall, "src_m0") {
				pf := pick(r, p.props)
				pf.unitTests = append(pf.unitTests, m.name)
				if pf.utGiven == nil {
					pf.utGiven = map[string][]string{}
				}
				var gv []string
				for _, x := range m.refs {
					gv = append(gv, "ref('"+x+"')")
				}
				if m.source {
					gv = append(gv, "source('raw', 'events')")
				}
				if r.Intn(4) == 0 {
					gv = append(gv, "ref('ghost')")
				}
				pf.utGiven[m.name] = gv
				break
			}
		}
	}
	for _, pf := range p.props {
		if pf.sources && r.Intn(2) == 0 {
			pf.srcRel = pick(r, p.models).name
		}
	}
	if len(p.seeds) > 0 && r.Intn(6) == 0 {
		sp := &fzProps{path: "seeds/seeds.yml", seedProps: true}
		if r.Intn(2) == 0 {
			sp.seedRel = pick(r, p.models).name
		}
		p.props = append(p.props, sp)
	}
	// singular tests
	ns := r.Intn(3)
	for i := 0; i < ns; i++ {
		s := &fzSingular{name: "t" + strconv.Itoa(i), ref: pick(r, p.models).name}
		if r.Intn(5) == 0 {
			s.name = pick(r, []string{"not_null_m1_id", "unique_m0_id", "not_null_m0_status_x"})
			if slices.ContainsFunc(p.singular, func(x *fzSingular) bool { return x.name == s.name }) {
				s.name = "t" + strconv.Itoa(i)
			}
		}
		if r.Intn(3) == 0 {
			s.macroCall = g.macroCallExpr()
		}
		s.cfg = r.Intn(5)
		if s.cfg == 4 {
			s.cfg = 0
		}
		p.singular = append(p.singular, s)
	}
	g.sanitize(p)
	return p
}

// sanitize drops the refs to disabled models of a new project.
func (g *fzGen) sanitize(p *fzProject) {
	flagOn := true
	for _, mf := range p.macros {
		for _, m := range mf.macros {
			if m.name == "flag_on" {
				flagOn = strings.Contains(m.body, "true")
			}
		}
	}
	off := map[string]bool{}
	for _, m := range p.models {
		if m.disabled == 1 || m.disabled == 2 && !flagOn {
			off[m.name] = true
		}
	}
	for _, pf := range p.props {
		for _, e := range pf.entries {
			if e.cfg == "disabled" {
				off[e.model] = true
			}
		}
	}
	for _, m := range p.models {
		m.refs = slices.DeleteFunc(m.refs, func(x string) bool { return off[x] })
	}
	for _, pf := range p.props {
		if off[pf.srcRel] {
			pf.srcRel = ""
		}
		if off[pf.seedRel] {
			pf.seedRel = ""
		}
		pf.unitTests = slices.DeleteFunc(pf.unitTests, func(x string) bool { return off[x] })
		for _, e := range pf.entries {
			for _, c := range e.cols {
				for _, t := range c.tests {
					if t.kind == "relationships" && off[t.to] {
						t.kind = "not_null"
					}
				}
			}
		}
	}
	for _, s := range p.singular {
		if off[s.ref] {
			s.ref = ""
		}
	}
	if m0 := p.model("m0"); m0 == nil || off["m0"] {
		for _, m := range p.models {
			if strings.Contains(m.macroCall, "src_m0") {
				m.macroCall = ""
			}
		}
		for _, s := range p.singular {
			if strings.Contains(s.macroCall, "src_m0") {
				s.macroCall = ""
			}
		}
		for _, pf := range p.props {
			for _, e := range pf.entries {
				for _, c := range e.cols {
					for _, t := range c.tests {
						if t.kind == "exists_in" {
							t.kind = "not_null"
						}
					}
				}
			}
		}
	}
	if m0 := p.model("m0"); m0 != nil && strings.Contains(m0.macroCall, "src_m0") {
		m0.macroCall = ""
	}
	for _, pf := range p.props {
		for _, e := range pf.entries {
			if e.model != "m0" {
				continue
			}
			for _, c := range e.cols {
				for _, t := range c.tests {
					if t.kind == "exists_in" {
						t.kind = "unique"
					}
				}
			}
		}
	}
}

// ---------- edits ----------

func (g *fzGen) otherModels(p *fzProject, name string) []string {
	var out []string
	for _, m := range p.models {
		if m.name != name {
			out = append(out, m.name)
		}
	}
	return out
}

func (g *fzGen) entryOf(p *fzProject, model string) (*fzProps, int) {
	for _, pf := range p.props {
		for i, e := range pf.entries {
			if e.model == model {
				return pf, i
			}
		}
	}
	return nil, -1
}

// edit applies one random edit to p and describes it.
func (g *fzGen) edit(p *fzProject, newNames *int) string {
	r := g.r
	kind := r.Intn(100)
	switch {
	case kind < 35 && len(p.models) > 0: // model SQL
		m := pick(r, p.models)
		switch r.Intn(12) {
		case 0:
			m.comment = "edited " + strconv.Itoa(r.Intn(100))
			return "comment " + m.name
		case 1, 2:
			m.refs = nil
			for _, o := range g.otherModels(p, m.name) {
				if r.Intn(3) == 0 {
					m.refs = append(m.refs, o)
				}
			}
			if len(p.seeds) > 0 && r.Intn(3) == 0 {
				m.refs = append(m.refs, pick(r, p.seeds).name)
			}
			return fmt.Sprintf("refs %s -> %v", m.name, m.refs)
		case 3:
			m.disabled = (m.disabled + 1 + r.Intn(3)) % 4
			return fmt.Sprintf("enabled %s -> %d", m.name, m.disabled)
		case 4:
			m.mat = pick(r, []string{"", "view", "table", "ephemeral", "incremental", "snapshot", "microbatch"})
			return "mat " + m.name + " -> " + m.mat
		case 5:
			toggle(&m.alias, "al2_"+m.name)
			return "alias " + m.name
		case 6:
			toggle(&m.schema, "sch2")
			return "schema " + m.name
		case 7:
			toggle(&m.tags, "ft2")
			return "tags " + m.name
		case 8, 9:
			m.macroCall = g.macroCallExpr()
			if r.Intn(6) == 0 {
				m.macroCall = "nomacro()"
			}
			return "macrocall " + m.name + " -> " + m.macroCall
		case 10:
			if r.Intn(3) == 0 {
				m.extra = pick(r, fzExtras)
				if r.Intn(4) == 0 {
					m.extra = ""
				}
				return "extra " + m.name + " " + m.extra
			}
			switch r.Intn(4) {
			case 0:
				m.eventTime = !m.eventTime
				return "eventtime " + m.name
			case 1:
				m.useThis = !m.useThis
				return "this " + m.name
			case 2:
				m.useVar = !m.useVar
				return "var " + m.name
			}
			m.source = !m.source
			return "source toggled " + m.name
		default:
			// ref another model
			if o := g.otherModels(p, m.name); len(o) > 0 {
				x := pick(r, o)
				if !slices.Contains(m.refs, x) {
					m.refs = append(m.refs, x)
				}
				return "add ref " + m.name + " -> " + x
			}
			return "noop"
		}
	case kind < 45: // model files added/removed/moved
		switch r.Intn(3) {
		case 0:
			name := "n" + strconv.Itoa(*newNames)
			*newNames++
			m := &fzModel{name: name, folder: pick(r, fzFolders[:3])}
			for _, o := range p.models {
				if r.Intn(3) == 0 {
					m.refs = append(m.refs, o.name)
				}
			}
			if r.Intn(4) == 0 {
				m.mat = pick(r, []string{"table", "ephemeral", "incremental", "snapshot"})
			}
			if r.Intn(2) == 0 {
				m.macroCall = g.macroCallExpr()
			}
			if r.Intn(6) == 0 {
				m.disabled = 1
			}
			if r.Intn(8) == 0 {
				m.mat = pick(r, []string{"incremental", "table"})
				m.deleteCond = true
			}
			p.models = append(p.models, m)
			if r.Intn(3) == 0 && len(p.props) > 0 {
				pf := pick(r, p.props)
				pf.entries = append(pf.entries, g.entry(p, name))
				return "add model " + name + " with entry in " + pf.path
			}
			return "add model " + name + " in " + m.folder
		case 1:
			if len(p.models) <= 1 {
				return "noop"
			}
			i := r.Intn(len(p.models))
			m := p.models[i]
			p.models = slices.Delete(p.models, i, i+1)
			for _, pf := range p.props {
				if r.Intn(2) == 0 && pf.srcRel == m.name {
					pf.srcRel = ""
				}
				pf.entries = slices.DeleteFunc(pf.entries, func(e *fzEntry) bool { return e.model == m.name })
				pf.unitTests = slices.DeleteFunc(pf.unitTests, func(s string) bool { return s == m.name })
			}
			return "remove model " + m.name
		default:
			m := pick(r, p.models)
			old := m.folder
			for m.folder == old {
				m.folder = pick(r, fzFolders[:4])
			}
			return "move " + m.name + " " + old + " -> " + m.folder
		}
	case kind < 70 && len(p.props) > 0: // YAML
		pf := pick(r, p.props)
		var e *fzEntry
		if len(pf.entries) > 0 {
			e = pick(r, pf.entries)
		}
		switch op := r.Intn(12); {
		case op == 0 && e != nil:
			e.desc = "changed " + strconv.Itoa(r.Intn(10))
			return "desc " + e.model
		case op == 1 && e != nil:
			if len(e.cols) > 0 && r.Intn(2) == 0 {
				c := pick(r, e.cols)
				c.tests = append(c.tests, g.test(p, e.model))
				return "col test added " + e.model + "." + c.name
			}
			e.cols = append(e.cols, &fzCol{name: pick(r, []string{"id", "status", "amount", longCol, "zz"}), tests: []*fzTest{g.test(p, e.model)}})
			// duplicate column names fail load: dedupe
			seen := map[string]bool{}
			e.cols = slices.DeleteFunc(e.cols, func(c *fzCol) bool { d := seen[c.name]; seen[c.name] = true; return d })
			return "col added " + e.model
		case op == 2 && e != nil:
			if len(e.cols) > 0 {
				i := r.Intn(len(e.cols))
				c := e.cols[i]
				if len(c.tests) > 0 && r.Intn(2) == 0 {
					j := r.Intn(len(c.tests))
					c.tests = slices.Delete(c.tests, j, j+1)
					return "col test removed " + e.model + "." + c.name
				}
				e.cols = slices.Delete(e.cols, i, i+1)
				return "col removed " + e.model
			}
			return "noop"
		case op == 3 && e != nil:
			var all []*fzTest
			all = append(all, e.tests...)
			for _, c := range e.cols {
				all = append(all, c.tests...)
			}
			if len(all) == 0 {
				return "noop"
			}
			t := pick(r, all)
			switch r.Intn(6) {
			case 0:
				toggle(&t.severity, "warn")
			case 1:
				t.store = !t.store
			case 2:
				toggle(&t.where, "id > 1")
			case 3:
				t.disabled = !t.disabled
			case 4:
				if t.customName == "" {
					t.customName = pick(r, []string{"custom_a", "custom_c", "not_null_m1_id", "t0", "unique_m0_id"})
				} else {
					t.customName = ""
				}
			case 5:
				if t.kind == "relationships" {
					t.to = pick(r, p.models).name
				} else if t.kind == "accepted_values" {
					t.values = append(t.values, "d")
				} else {
					t.kind = pick(r, []string{"not_null", "unique", "positive"})
				}
			}
			return "test config " + e.model
		case op == 4 && e != nil:
			e.tests = append(e.tests, g.modelTest())
			return "model test added " + e.model
		case op == 5 && e != nil:
			// remove entry
			pf.entries = slices.DeleteFunc(pf.entries, func(x *fzEntry) bool { return x == e })
			return "entry removed " + e.model
		case op == 6:
			// add an entry for an undocumented model
			for _, m := range p.models {
				if q, _ := g.entryOf(p, m.name); q == nil {
					pf.entries = append(pf.entries, g.entry(p, m.name))
					return "entry added " + m.name + " in " + pf.path
				}
			}
			return "noop"
		case op == 7 && e != nil && len(p.props) > 1:
			// move entry to another file
			var to *fzProps
			for to = pick(r, p.props); to == pf; to = pick(r, p.props) {
			}
			pf.entries = slices.DeleteFunc(pf.entries, func(x *fzEntry) bool { return x == e })
			to.entries = append(to.entries, e)
			return "entry moved " + e.model + " " + pf.path + " -> " + to.path
		case op == 8 && e != nil:
			e.cfg = pick(r, []string{"", "mat", "tags", "disabled", "alias"})
			return "entry cfg " + e.model + " " + e.cfg
		case op == 9:
			if r.Intn(3) == 0 {
				pf.sources = !pf.sources
				if !pf.sources {
					for _, m := range p.models {
						m.source = false
					}
				}
				return "sources toggled " + pf.path
			}
			if e != nil {
				if len(e.cols) > 0 {
					e.cols[0].desc = "cd" + strconv.Itoa(r.Intn(9))
					return "col desc " + e.model
				}
			}
			return "noop"
		case op == 10 && e != nil:
			// swap order of entries/cols
			if len(pf.entries) > 1 {
				i, j := r.Intn(len(pf.entries)), r.Intn(len(pf.entries))
				pf.entries[i], pf.entries[j] = pf.entries[j], pf.entries[i]
				return "entries swapped " + pf.path
			}
			return "noop"
		case op == 11 && e != nil:
			// rename a model: entry follows
			m := p.model(e.model)
			if m == nil {
				return "noop"
			}
			name := "n" + strconv.Itoa(*newNames)
			*newNames++
			old := m.name
			m.name = name
			e.model = name
			for _, q := range p.props {
				for i, u := range q.unitTests {
					if u == old {
						q.unitTests[i] = name
					}
				}
			}
			return "rename " + old + " -> " + name
		}
		return "noop"
	case kind < 85: // macros
		mf := pick(r, p.macros)
		mac := pick(r, mf.macros)
		switch r.Intn(8) {
		case 0, 1:
			if mac.isTest {
				mac.body += " and 1 = 1"
			} else if mac.name == "flag_on" {
				if strings.Contains(mac.body, "true") {
					mac.body = "{{ return(false) }}"
				} else {
					mac.body = "{{ return(true) }}"
				}
			} else if mac.name == "set_tbl" {
				mac.body = "{{ config(materialized='" + pick(r, []string{"table", "view", "incremental"}) + "') }}"
			} else {
				mac.body += "/* e */"
			}
			return "macro body " + mac.name
		case 2:
			switch mac.name {
			case "lbl":
				mac.params = pick(r, []string{"x='a'", "x='b'", "x", "x='a', y=2"})
			case "cents":
				mac.params = pick(r, []string{"x", "x, y=1", "y"})
			case "wrap":
				mac.params = pick(r, []string{"x", "x=3"})
			default:
				return "noop"
			}
			return "macro params " + mac.name + " (" + mac.params + ")"
		case 3:
			mf.macros = append(mf.macros, &fzMacro{name: "added_" + strconv.Itoa(r.Intn(3)), params: "", body: "1"})
			return "macro added in " + mf.path
		case 4:
			if len(mf.macros) > 1 {
				i := r.Intn(len(mf.macros))
				n := mf.macros[i].name
				mf.macros = slices.Delete(mf.macros, i, i+1)
				return "macro removed " + n
			}
			return "noop"
		case 5:
			mf.extra = "{# edited " + strconv.Itoa(r.Intn(9)) + " #}\n"
			return "macro file shifted " + mf.path
		case 6:
			// move a macro between files
			if len(p.macros) > 1 && len(mf.macros) > 1 {
				var to *fzMacroFile
				for to = pick(r, p.macros); to == mf; to = pick(r, p.macros) {
				}
				mf.macros = slices.DeleteFunc(mf.macros, func(x *fzMacro) bool { return x == mac })
				to.macros = append(to.macros, mac)
				return "macro moved " + mac.name + " -> " + to.path
			}
			return "noop"
		default:
			if mac.name == "wrap" {
				mac.body = pick(r, []string{"{{ cents(x) }}", "{{ lbl(x) }}", "({{ x }})"})
				return "wrap body " + mac.body
			}
			if mac.name == "positive" {
				mac.body = pick(r, []string{"select * from {{ model }} where {{ column_name }} <= 0", "select * from {{ model }} where {{ cents(column_name) }} < 0", "select * from {{ model }} where {{ column_name }} < {{ lbl() }}"})
				return "positive body"
			}
			mac.body += " "
			return "macro space " + mac.name
		}
	case kind < 93 && len(p.singular) > 0: // singular tests
		s := pick(r, p.singular)
		switch r.Intn(5) {
		case 0:
			s.cfg = r.Intn(4)
			return "singular cfg " + s.name
		case 1:
			s.ref = pick(r, p.models).name
			return "singular ref " + s.name + " -> " + s.ref
		case 2:
			s.macroCall = g.macroCallExpr()
			return "singular macro " + s.name
		case 3:
			s.ref = ""
			if r.Intn(3) == 0 {
				s.ref = "nope"
			}
			return "singular ref changed " + s.name + " -> " + s.ref
		default:
			s.comment = "c" + strconv.Itoa(r.Intn(9))
			return "singular comment " + s.name
		}
	case kind < 96: // project.yaml's variables (its last entry)
		switch r.Intn(4) {
		case 0:
			p.vars = ""
			return "project vars removed"
		case 1:
			p.vars += "  w" + strconv.Itoa(r.Intn(100)) + ": 1\n"
			return "project var added"
		default:
			p.vars = "  v: " + pick(r, []string{"3", "4", "3.0", "'x'", "[1, 2]", "{a: 1}", "null", "'{{ 1 }}'"}) + "\n"
			return "project var v = " + p.vars
		}
	case kind < 98 && len(p.seeds) > 0:
		s := pick(r, p.seeds)
		if r.Intn(2) == 0 {
			s.rows++
		} else {
			s.tag = "y" + strconv.Itoa(r.Intn(5))
		}
		return "seed rows " + s.name
	default:
		// create a folder named like the project
		m := pick(r, p.models)
		m.folder = "p"
		return "model into models/p " + m.name
	}
}

// toggle sets *s to on when it is empty, and empties it otherwise.
func toggle(s *string, on string) {
	if *s == "" {
		*s = on
	} else {
		*s = ""
	}
}

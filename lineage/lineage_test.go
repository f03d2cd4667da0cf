package lineage

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/warehouse"
)

// fixture is an in-memory database with tables raw(a, b, k, d) and
// u(k, x, y), both declared as sources, and a manifest to add models to.
func fixture(t testing.TB) (*warehouse.DB, *manifest.Manifest) {
	t.Helper()
	db, err := warehouse.Open(context.Background(), warehouse.Memory, warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Exec(context.Background(), `CREATE TABLE raw(a INTEGER, b INTEGER, k INTEGER, d DATE); CREATE TABLE u(k INTEGER, x VARCHAR, y DOUBLE)`); err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{}}
	for _, name := range []string{"raw", "u"} {
		id := manifest.SourceID("s", name)
		m.Nodes[id] = &manifest.Node{ID: id, ResourceType: manifest.Source, Name: name, Relation: `"main"."` + name + `"`,
			Source: &manifest.SourceInfo{SourceName: "s", TableName: name, Schema: "main", Identifier: name}}
	}
	return db, m
}

// addModel adds model name with compiled SQL; `raw` and `u` in sql are
// the sources' relations, and deps lists further models it refs.
func addModel(m *manifest.Manifest, name, sql string, deps ...string) {
	id := manifest.ModelID(name)
	n := &manifest.Node{ID: id, ResourceType: manifest.Model, Name: name, Path: "models/" + name + ".sql",
		RawSQL: sql, CompiledSQL: sql, Relation: `"main"."` + name + `"`, Config: manifest.Config{Materialized: "view"},
		DependsOn: []manifest.NodeID{manifest.SourceID("s", "raw"), manifest.SourceID("s", "u")}}
	for _, d := range deps {
		n.DependsOn = append(n.DependsOn, manifest.ModelID(d))
	}
	m.Nodes[id] = n
}

// describe renders a node's lineage as lines "col: kind:node.col ...",
// then "rows: ..." and "issue: ..." lines, with source ids shortened.
func describe(n *Node) string {
	var b strings.Builder
	short := func(d Dep) string {
		s := string(d.Kind) + ":" + strings.TrimPrefix(strings.TrimPrefix(string(d.Node), "source.s."), "model.") + "." + d.Column
		if d.Missing {
			s += "!"
		}
		return s
	}
	for _, c := range n.Columns {
		var parts []string
		for _, d := range c.Deps {
			parts = append(parts, short(d))
		}
		b.WriteString(c.Name + ": " + strings.Join(parts, " ") + "\n")
	}
	if len(n.Rows) > 0 {
		var parts []string
		for _, d := range n.Rows {
			parts = append(parts, short(d))
		}
		b.WriteString("rows: " + strings.Join(parts, " ") + "\n")
	}
	for _, is := range n.Issues {
		b.WriteString("issue: " + is.Message + "\n")
	}
	return b.String()
}

func TestColumnLineage(t *testing.T) {
	cases := []struct {
		name, sql, want string
	}{
		{"count star depends on no column", `select a as x, count(*) as n, count(b) as nb from "main"."raw" group by all`,
			"x: value:raw.a\nn: \nnb: value:raw.b\nrows: group:raw.a\n"},
		{"cte star exclude and where", `with c as (select * from "main"."raw" where b > 0) select c.* exclude (d) from c`,
			"a: value:raw.a\nb: value:raw.b\nk: value:raw.k\nrows: filter:raw.b\n"},
		{"join using merges both sides", `select k, r.a, u.x from "main"."raw" r join "main"."u" using (k)`,
			"k: value:raw.k value:u.k\na: value:raw.a\nx: value:u.x\nrows: join:raw.k join:u.k\n"},
		{"star over join using lists k once", `select * from "main"."raw" join "main"."u" using (k)`,
			"a: value:raw.a\nb: value:raw.b\nk: value:raw.k value:u.k\nd: value:raw.d\nx: value:u.x\ny: value:u.y\nrows: join:raw.k join:u.k\n"},
		{"window partition and order", `select sum(a) over (partition by k order by d) as s from "main"."raw"`,
			"s: value:raw.a window:raw.d window:raw.k\n"},
		{"case condition is value", `select case when b > 0 then a else 0 end as c from "main"."raw"`,
			"c: value:raw.a value:raw.b\n"},
		{"subquery in from with filter", `select s.a2 from (select a * 2 as a2 from "main"."raw") s where s.a2 > 1`,
			"a2: value:raw.a\nrows: filter:raw.a\n"},
		{"aggregate filter clause", `select count(*) filter (where b > 0) as n from "main"."raw"`,
			"n: filter:raw.b\n"},
		{"join condition and qualified star", `select r.*, u.y from "main"."raw" as r left join "main"."u" as u on u.k = r.k`,
			"a: value:raw.a\nb: value:raw.b\nk: value:raw.k\nd: value:raw.d\ny: value:u.y\nrows: join:raw.k join:u.k\n"},
		{"union merges positionally", `select a from "main"."raw" union all select y from "main"."u"`,
			"a: value:raw.a value:u.y\n"},
		{"correlated scalar subquery", `select r.a, (select max(u.y) from "main"."u" where u.k = r.k) as m from "main"."raw" r`,
			"a: value:raw.a\nm: value:u.y filter:raw.k filter:u.k\n"},
		{"unaliased expression named by DuckDB", `select a + 1, k from "main"."raw"`,
			"(a + 1): value:raw.a\nk: value:raw.k\n"},
		{"lambda parameters are not columns", `select list_transform([a, b], v -> v + k) as l from "main"."raw"`,
			"l: value:raw.a value:raw.b value:raw.k\n"},
		{"table function over columns", `select g.n from "main"."raw" r, generate_series(r.a, r.b) as g(n)`,
			"n: value:raw.a value:raw.b\n"},
		{"having and order by with limit", `select k, sum(a) as s from "main"."raw" group by k having sum(b) > 1 order by s desc limit 3`,
			"k: value:raw.k\ns: value:raw.a\nrows: filter:raw.a filter:raw.b group:raw.k\n"},
		{"missing column is reported", `select zz from "main"."raw"`,
			"zz: value:raw.zz!\nissue: column zz is not a column of source.s.raw\n"},
		{"unknown relation is not guessed", `select q from other_table`,
			"q: \nissue: relation other_table is not a node of this project — its columns are unknown (use ref() or source())\nissue: column q may come from relation other_table, whose columns are unknown — qualify it or document the columns\n"},
		{"star over unknown relation", `select * from other_table`,
			"issue: relation other_table is not a node of this project — its columns are unknown (use ref() or source())\nissue: `*` over relation other_table whose columns are unknown — build it or list its columns in YAML\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, m := fixture(t)
			addModel(m, "m", tc.sql)
			l, err := Build(context.Background(), db, m)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(l.Node("model.m")); got != tc.want {
				t.Errorf("lineage of\n  %s\ngot:\n%swant:\n%s", tc.sql, got, tc.want)
			}
		})
	}
}

func TestEphemeralAndDownstream(t *testing.T) {
	db, m := fixture(t)
	addModel(m, "e", `select a, k from "main"."raw" where b > 0`)
	m.Nodes["model.e"].Config.Materialized = "ephemeral"
	m.Nodes["model.e"].Relation = ""
	addModel(m, "top", "with __elt_eph_e as (\nselect a, k from \"main\".\"raw\" where b > 0\n)\nselect e.a * 2 as a2\nfrom __elt_eph_e as e\nwhere e.k > 0", "e")
	m.Nodes["model.top"].RawSQL = "select e.a * 2 as a2\nfrom {{ ref('e') }} as e\nwhere e.k > 0"
	l, err := Build(context.Background(), db, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(l.Node("model.top")), "a2: value:e.a\nrows: filter:e.k\n"; got != want {
		t.Errorf("top: got\n%swant\n%s", got, want)
	}
	uses := l.Users(Ref{manifest.SourceID("s", "raw"), "a"})
	if len(uses) != 1 || uses[0].Node != "model.e" || uses[0].Column != "a" {
		t.Errorf("users of raw.a = %+v, want model.e.a", uses)
	}
	g := l.ColumnGraph(Ref{manifest.SourceID("s", "raw"), "a"}, Downstream, -1)
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+">"+e.To+":"+string(e.Kind)+"@"+e.At)
	}
	want := "source.s.raw.a>model.e.a:value@models/e.sql:1 model.e.a>model.top.a2:value@models/top.sql:1"
	if strings.Join(edges, " ") != want {
		t.Errorf("downstream graph:\n got %s\nwant %s", strings.Join(edges, " "), want)
	}
	if k := l.Users(Ref{"model.e", "k"}); len(k) != 1 || k[0].Column != "" || k[0].Kind != Filter || k[0].Line != 3 {
		t.Errorf("users of e.k = %+v, want the rows of top, filter, line 3", k)
	}
}

// TestExample checks the lineage of the example project's models.
func TestExample(t *testing.T) {
	proj, diags := project.Load("..")
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	m, diags := compiler.Compile(proj, compiler.Options{Target: "dev", Env: os.LookupEnv, Threads: 1})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	db, err := warehouse.Open(context.Background(), warehouse.Memory, warehouse.Settings{ProjectDir: ".."})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := Build(context.Background(), db, m)
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range l.Nodes {
		if len(n.Issues) > 0 {
			t.Errorf("%s has unresolved lineage: %+v", id, n.Issues)
		}
	}
	want := map[string]string{
		"model.training_set.spend_7d":      "value:user_features.spend_7d",
		"model.user_features.spend_7d":     "value:fct_user_daily.spend_eur window:fct_user_daily.activity_date window:fct_user_daily.user_id",
		"model.fct_user_daily.spend_eur":   "value:stg_purchases.amount value:seed.countries.eur_rate",
		"model.fct_user_daily.purchases":   "",
		"model.churn_labels.churned":       "filter:label_dates.label_ts filter:stg_logins.event_ts",
		"model.churn_labels.label_ts":      "value:label_dates.label_ts",
		"model.stg_purchases.country_code": "value:raw.purchases.country",
		// A stream model reads its stream source's events.
		"model.purchases_10m.amount_10m":           "value:live.purchases.amount",
		"model.training_set.last_window_purchases": "value:purchases_10m.purchases_10m",
	}
	for ref, deps := range want {
		i := strings.LastIndexByte(ref, '.')
		c := l.Node(manifest.NodeID(ref[:i])).Column(ref[i+1:])
		if c == nil {
			t.Errorf("%s: no such column", ref)
			continue
		}
		var parts []string
		for _, d := range c.Deps {
			parts = append(parts, string(d.Kind)+":"+strings.TrimPrefix(strings.TrimPrefix(string(d.Node), "model."), "source.")+"."+d.Column)
		}
		if got := strings.Join(parts, " "); got != deps {
			t.Errorf("%s: got %q, want %q", ref, got, deps)
		}
	}
}

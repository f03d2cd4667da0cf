package selector

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

// Short names of the test nodes of testManifest.
const (
	tNotNull = "test.not_null_stg_events_event_id"
	tUnique  = "test.unique_fct_orders_order_id"
	tRel     = "test.relationships_fct_activity_user_id__stg_users"
	tSing    = "test.assert_positive_orders"
	tUnit    = "test.stg_events_dedup"
)

// testManifest is a small project "shop":
//
//	source.raw.events → stg_events ─┐
//	source.raw.users  → stg_users  ─┴→ int_user_events (ephemeral) ─┐
//	seed.countries ─────────────────────────────────────────────────┴→ fct_activity → report
//	source.erp.orders → stg_orders (incremental) ─┐
//	stg_users ────────────────────────────────────┴→ fct_orders (incremental)
//	stg_users → snap_users (snapshot)
//
// with tests on stg_events (not_null, unit), fct_orders (unique, singular)
// and fct_activity+stg_users (relationships).
func testManifest() *manifest.Manifest {
	m := &manifest.Manifest{Metadata: manifest.Metadata{ProjectName: "shop", ProjectDir: "/home/u/shop"}, Nodes: map[manifest.NodeID]*manifest.Node{}}
	add := func(id, path string, deps []string, f func(n *manifest.Node)) {
		n := &manifest.Node{ID: manifest.NodeID(id), ResourceType: manifest.NodeID(id).Type(), Path: path, Fingerprint: "fp-" + id}
		n.Name = id[strings.LastIndexByte(id, '.')+1:]
		n.Config.Enabled = true
		for _, d := range deps {
			n.DependsOn = append(n.DependsOn, manifest.NodeID(d))
		}
		if f != nil {
			f(n)
		}
		m.Nodes[n.ID] = n
	}
	src := func(s, t string) func(*manifest.Node) {
		return func(n *manifest.Node) { n.Source = &manifest.SourceInfo{SourceName: s, TableName: t} }
	}
	mat := func(kind string, tags ...string) func(*manifest.Node) {
		return func(n *manifest.Node) { n.Config.Materialized = kind; n.Config.Tags = tags }
	}
	test := func(typ, name string) func(*manifest.Node) {
		return func(n *manifest.Node) { n.TestInfo = &manifest.TestInfo{TestType: typ, TestName: name} }
	}
	add("source.raw.events", "models/staging/sources.yml", nil, src("raw", "events"))
	add("source.raw.users", "models/staging/sources.yml", nil, src("raw", "users"))
	add("source.erp.orders", "models/staging/erp.yml", nil, src("erp", "orders"))
	add("seed.countries", "seeds/countries.csv", nil, func(n *manifest.Node) { n.Tags = []string{"ref"} })
	add("model.stg_events", "models/staging/stg_events.sql", []string{"source.raw.events"}, mat("view", "daily"))
	add("model.stg_users", "models/staging/stg_users.sql", []string{"source.raw.users"}, mat("view"))
	add("model.stg_orders", "models/staging/stg_orders.sql", []string{"source.erp.orders"}, func(n *manifest.Node) {
		n.Config.Materialized = "incremental"
		n.Config.IncrementalStrategy = "delete+insert"
		n.Config.UniqueKey = []string{"order_id", "line"}
	})
	add("model.int_user_events", "models/intermediate/int_user_events.sql", []string{"model.stg_events", "model.stg_users"}, mat("ephemeral"))
	add("model.fct_activity", "models/marts/fct_activity.sql", []string{"model.int_user_events", "seed.countries"}, func(n *manifest.Node) {
		n.Config.Materialized = "table"
		n.Config.Tags = []string{"daily", "finance"}
		n.Config.Meta = map[string]any{"owner": "alice"}
	})
	add("model.fct_orders", "models/marts/fct_orders.sql", []string{"model.stg_orders", "model.stg_users"}, func(n *manifest.Node) {
		n.Config.Materialized = "incremental"
		n.Config.IncrementalStrategy = "merge"
		n.Config.Lookback = 3
	})
	add("model.snap_users", "models/snapshots/snap_users.sql", []string{"model.stg_users"}, mat("snapshot"))
	add("model.report", "models/marts/report.sql", []string{"model.fct_activity"}, mat("view"))
	add(tNotNull, "models/staging/schema.yml", []string{"model.stg_events"}, test("generic", "not_null"))
	add(tUnit, "models/staging/unit.yml", []string{"model.stg_events"}, test("unit", ""))
	add(tUnique, "models/marts/schema.yml", []string{"model.fct_orders"}, test("generic", "unique"))
	add(tRel, "models/marts/schema.yml", []string{"model.fct_activity", "model.stg_users"}, test("generic", "relationships"))
	add(tSing, "tests/assert_positive_orders.sql", []string{"model.fct_orders"}, test("singular", ""))
	m.BuildChildren()
	return m
}

// stateManifest is testManifest as an earlier run saw it: fct_activity has
// since changed and report is new.
func stateManifest() *manifest.Manifest {
	s := testManifest()
	nodes := maps.Clone(s.Nodes)
	changed := *nodes["model.fct_activity"]
	changed.Fingerprint = "fp-old"
	nodes["model.fct_activity"] = &changed
	delete(nodes, "model.report")
	s.Nodes = nodes
	return s
}

// ids expands short names: a name without a dot is a model.
func ids(names ...string) string {
	out := make([]string, len(names))
	for i, n := range names {
		if !strings.Contains(n, ".") {
			n = "model." + n
		}
		out[i] = n
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func join(xs []manifest.NodeID) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, " ")
}

var allNodes = ids("source.raw.events", "source.raw.users", "source.erp.orders", "seed.countries",
	"stg_events", "stg_users", "stg_orders", "int_user_events", "fct_activity", "fct_orders", "snap_users", "report",
	tNotNull, tUnit, tUnique, tRel, tSing)

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		include []string
		exclude []string
		want    string
	}{
		// Defaults.
		{"empty include selects everything", nil, nil, allNodes},
		{"blank include selects everything", []string{"  "}, nil, allNodes},

		// Bare names, globs, ids, fqn.
		{"name pulls in tests whose parents are all selected", []string{"stg_events"}, nil, ids("stg_events", tNotNull, tUnit)},
		{"ephemeral is selectable", []string{"int_user_events"}, nil, ids("int_user_events")},
		{"glob", []string{"stg_*"}, nil, ids("stg_events", "stg_users", "stg_orders", tNotNull, tUnit, tRel)},
		{"node id", []string{"model.report"}, nil, ids("report")},
		{"source by table name", []string{"events"}, nil, ids("source.raw.events")},
		{"test by name", []string{"assert_positive_orders"}, nil, ids(tSing)},
		{"fqn folder prefix", []string{"shop.staging"}, nil, ids("stg_events", "stg_users", "stg_orders",
			"source.raw.events", "source.raw.users", "source.erp.orders", tNotNull, tUnit, tRel)},
		{"fqn method with glob", []string{"fqn:shop.marts.fct_*"}, nil, ids("fct_activity", "fct_orders", tUnique, tSing, tRel)},
		{"fqn star", []string{"fqn:shop.intermediate.*"}, nil, ids("int_user_events")},
		{"project name selects all", []string{"shop"}, nil, allNodes},

		// Paths.
		{"path folder", []string{"path:models/staging"}, nil, ids("stg_events", "stg_users", "stg_orders",
			"source.raw.events", "source.raw.users", "source.erp.orders", tNotNull, tUnit, tRel)},
		{"bare folder path", []string{"models/marts/"}, nil, ids("fct_activity", "fct_orders", "report", tUnique, tRel, tSing)},
		{"path file", []string{"path:models/marts/fct_orders.sql"}, nil, ids("fct_orders", tUnique, tSing)},
		{"bare file path", []string{"models/staging/stg_users.sql"}, nil, ids("stg_users", tRel)},
		{"dot-slash path", []string{"./models/staging/stg_users.sql"}, nil, ids("stg_users", tRel)},
		{"absolute path inside project", []string{"path:/home/u/shop/models/snapshots"}, nil, ids("snap_users")},
		{"path glob", []string{"path:models/*/stg_*.sql"}, nil, ids("stg_events", "stg_users", "stg_orders", tNotNull, tUnit, tRel)},
		{"path glob on folder", []string{"path:models/snap*"}, nil, ids("snap_users")},
		{"path prefix is not a folder match", []string{"path:models/stag"}, nil, ""},
		{"file", []string{"file:stg_users"}, nil, ids("stg_users", tRel)},
		{"file with extension", []string{"file:countries.csv"}, nil, ids("seed.countries")},

		// Tags and config.
		{"tag from config", []string{"tag:daily"}, nil, ids("stg_events", "fct_activity", tNotNull, tUnit, tRel)},
		{"tag from node", []string{"tag:ref"}, nil, ids("seed.countries")},
		{"tag glob", []string{"tag:fin*"}, nil, ids("fct_activity", tRel)},
		{"intersection", []string{"tag:daily,tag:finance"}, nil, ids("fct_activity", tRel)},
		{"space is union", []string{"tag:finance tag:ref"}, nil, ids("fct_activity", "seed.countries", tRel)},
		{"arguments are united", []string{"stg_users", "stg_events"}, nil, ids("stg_users", "stg_events", tNotNull, tUnit, tRel)},
		{"config string", []string{"config.materialized:incremental"}, nil, ids("stg_orders", "fct_orders", tUnique, tSing)},
		{"config dash key", []string{"config.incremental-strategy:merge"}, nil, ids("fct_orders", tUnique, tSing)},
		{"config value with plus", []string{"config.incremental_strategy:delete+insert"}, nil, ids("stg_orders")},
		{"config list any element", []string{"config.unique_key:line"}, nil, ids("stg_orders")},
		{"config map", []string{"config.meta.owner:alice"}, nil, ids("fct_activity", tRel)},
		{"config int", []string{"config.lookback:3"}, nil, ids("fct_orders", tUnique, tSing)},
		{"config unset int is zero", []string{"config.lookback:0,stg_*"}, nil, ids("stg_events", "stg_users", "stg_orders", tNotNull, tUnit, tRel)},
		{"config bool", []string{"config.enabled:true,resource_type:seed"}, nil, ids("seed.countries")},
		{"config ephemeral", []string{"config.materialized:ephemeral"}, nil, ids("int_user_events")},

		// Sources.
		{"source", []string{"source:raw"}, nil, ids("source.raw.events", "source.raw.users")},
		{"source table", []string{"source:raw.users"}, nil, ids("source.raw.users")},
		{"source with project", []string{"source:shop.erp.orders"}, nil, ids("source.erp.orders")},
		{"source descendants", []string{"source:raw.events+"}, nil, ids("source.raw.events", "stg_events",
			"int_user_events", "fct_activity", "report", tNotNull, tUnit, tRel)},
		{"source glob", []string{"source:*.orders"}, nil, ids("source.erp.orders")},

		// Types.
		{"resource_type seed", []string{"resource_type:seed"}, nil, ids("seed.countries")},
		{"resource_type snapshot", []string{"resource_type:snapshot"}, nil, ids("snap_users")},
		{"resource_type source", []string{"resource_type:source"}, nil, ids("source.raw.events", "source.raw.users", "source.erp.orders")},
		{"resource_type model excludes snapshots", []string{"resource_type:model"}, nil, ids("stg_events", "stg_users",
			"stg_orders", "int_user_events", "fct_activity", "fct_orders", "report", tNotNull, tUnit, tUnique, tRel, tSing)},
		{"resource_type test", []string{"resource_type:test"}, nil, ids(tNotNull, tUnique, tRel, tSing)},
		{"resource_type unit_test", []string{"resource_type:unit_test"}, nil, ids(tUnit)},
		{"test_type generic", []string{"test_type:generic"}, nil, ids(tNotNull, tUnique, tRel)},
		{"test_type singular", []string{"test_type:singular"}, nil, ids(tSing)},
		{"test_type unit", []string{"test_type:unit"}, nil, ids(tUnit)},
		{"test_type data", []string{"test_type:data"}, nil, ids(tNotNull, tUnique, tRel, tSing)},
		{"test_name generic", []string{"test_name:unique"}, nil, ids(tUnique)},
		{"test_name singular", []string{"test_name:assert_*"}, nil, ids(tSing)},

		// Graph operators.
		{"descendants", []string{"stg_events+"}, nil, ids("stg_events", "int_user_events", "fct_activity", "report", tNotNull, tUnit, tRel)},
		{"descendants depth 1", []string{"stg_events+1"}, nil, ids("stg_events", "int_user_events", tNotNull, tUnit)},
		{"ancestors", []string{"+fct_activity"}, nil, ids("fct_activity", "int_user_events", "stg_events", "stg_users",
			"source.raw.events", "source.raw.users", "seed.countries", tNotNull, tUnit, tRel)},
		{"ancestors depth 1", []string{"1+fct_activity"}, nil, ids("fct_activity", "int_user_events", "seed.countries", tRel)},
		{"ancestors depth 2", []string{"2+report"}, nil, ids("report", "fct_activity", "int_user_events", "seed.countries", tRel)},
		{"depth 0", []string{"0+report+0"}, nil, ids("report")},
		{"both ways", []string{"1+int_user_events+1"}, nil, ids("int_user_events", "stg_events", "stg_users", "fct_activity", tNotNull, tUnit, tRel)},
		{"at", []string{"@stg_orders"}, nil, ids("stg_orders", "fct_orders", "stg_users", "source.erp.orders",
			"source.raw.users", tUnique, tSing, tRel)},
		{"operators on a method", []string{"+tag:finance"}, nil, ids("fct_activity", "int_user_events", "stg_events", "stg_users",
			"source.raw.events", "source.raw.users", "seed.countries", tNotNull, tUnit, tRel)},
		{"intersection after operators", []string{"+report,tag:daily"}, nil, ids("stg_events", "fct_activity", tNotNull, tUnit, tRel)},

		// State.
		{"state modified", []string{"state:modified"}, nil, ids("fct_activity", "report", tRel)},
		{"state modified descendants", []string{"state:modified+"}, nil, ids("fct_activity", "report", tRel)},
		{"state new", []string{"state:new"}, nil, ids("report")},
		{"state unmodified", []string{"state:unmodified,resource_type:seed"}, nil, ids("seed.countries")},
		{"state old", []string{"state:old,marts.*"}, nil, ""},
		{"state old fqn", []string{"state:old,shop.marts.*"}, nil, ids("fct_activity", "fct_orders", tUnique, tRel, tSing)},

		// Exclude.
		{"exclude from selection", []string{"stg_events+"}, []string{"report"}, ids("stg_events", "int_user_events", "fct_activity", tNotNull, tUnit, tRel)},
		{"exclude drops tests of excluded nodes", nil, []string{"stg_events"}, strings.Join(slices.DeleteFunc(strings.Fields(allNodes),
			func(s string) bool { return s == "model.stg_events" || s == tNotNull || s == tUnit }), " ")},
		{"exclude a test directly", []string{"stg_events"}, []string{"test_type:unit"}, ids("stg_events", tNotNull)},
		{"exclude with operators", []string{"tag:daily"}, []string{"+int_user_events"}, ids("fct_activity")},
		{"exclude everything", []string{"stg_users"}, []string{"stg_*"}, ""},

		// Nothing matched.
		{"no match", []string{"nothing_here"}, nil, ""},
		{"empty intersection", []string{"stg_events,tag:finance"}, nil, ""},
	}
	m := testManifest()
	g := Graph(m)
	state := stateManifest()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(m, g, tc.include, tc.exclude, state)
			if err != nil {
				t.Fatal(err)
			}
			if join(got) != tc.want {
				t.Errorf("Select(%q, %q)\n got %s\nwant %s", tc.include, tc.exclude, join(got), tc.want)
			}
		})
	}
}

func TestSelectNilGraph(t *testing.T) {
	got, err := Select(testManifest(), nil, []string{"stg_users+1"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids("stg_users", "int_user_events", "fct_orders", "snap_users", tRel, tUnique, tSing); join(got) != want {
		t.Fatalf("got %s want %s", join(got), want)
	}
}

func TestResolveUnmatched(t *testing.T) {
	r, err := Resolve(testManifest(), nil, []string{"stg_users nope", "tag:none,stg_*", "tag:daily"}, []string{"nothing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Unmatched, " "); got != "nope tag:none,stg_*" {
		t.Fatalf("Unmatched = %q", got)
	}
}

func TestSelectErrors(t *testing.T) {
	tests := []struct {
		include, exclude []string
		noState          bool
		want             string // the whole error text
	}{
		{include: []string{"tagg:daily"}, want: `--select "tagg:daily": unknown selector method "tagg" — did you mean "tag"? ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
		{include: []string{"Path:models"}, want: `--select "Path:models": unknown selector method "Path" — did you mean "path"? ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
		{include: []string{"confg.materialized:table"}, want: `--select "confg.materialized:table": unknown selector method "confg.materialized" — did you mean "config.materialized"? ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
		{include: []string{"a,config.materalized:table"}, want: `--select "a,config.materalized:table": unknown config key "materalized" in selector method "config.materalized" — did you mean "materialized"?`},
		{include: []string{"config:table"}, want: `--select "config:table": selector method "config" needs a key — write config.<key>:<value>, e.g. config.materialized:table`},
		{include: []string{"resource_type:modle"}, want: `--select "resource_type:modle": unknown resource type "modle" — did you mean "model"? (allowed: model, seed, snapshot, source, test, unit_test)`},
		{include: []string{"test_type:schema"}, want: `--select "test_type:schema": unknown test type "schema" (allowed: data, generic, singular, unit)`},
		{include: []string{"state:modifed+"}, want: `--select "state:modifed+": unknown state selector "modifed" — did you mean "modified"? (allowed: modified, new, old, unmodified)`},
		{include: []string{"state:modified"}, noState: true, want: `selector "state:modified" compares against an earlier run — pass --state DIR with that run's target/ directory (its manifest.json)`},
		{include: []string{"a,,b"}, want: `--select "a,,b": empty selector between commas — remove the extra comma`},
		{include: []string{"a,"}, want: `--select "a,": empty selector between commas — remove the extra comma`},
		{include: []string{"tag:"}, want: `--select "tag:": selector method "tag" has no value — write tag:<value>`},
		{include: []string{"+"}, want: `--select "+": selector "+" names nothing — write a node name or method:value`},
		{include: []string{"@+x"}, want: `--select "@+x": "@" cannot be combined with a "+" prefix — use either @x or +x`},
		{include: []string{"99999999999999999999+x"}, want: `--select "99999999999999999999+x": graph depth "99999999999999999999" is too large — leave the number out for unlimited depth`},
		{include: []string{"stg_["}, want: `--select "stg_[": bad pattern "stg_[" — escape or balance the [ ] brackets`},
		{include: []string{"source:a.b.c.d"}, want: `--select "source:a.b.c.d": source selector "a.b.c.d" has too many parts — write source:<source> or source:<source>.<table>`},
		{exclude: []string{"tagg:x"}, want: `--exclude "tagg:x": unknown selector method "tagg" — did you mean "tag"? ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
		{include: []string{"xyzzy:1 resource_type:x"}, want: `--select "xyzzy:1": unknown selector method "xyzzy" ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
		{include: []string{"tagg:x", "stg_["}, exclude: []string{"test_type:dat"}, want: `--exclude "test_type:dat": unknown test type "dat" — did you mean "data"? (allowed: data, generic, singular, unit)` + "\n" +
			`--select "stg_[": bad pattern "stg_[" — escape or balance the [ ] brackets` + "\n" +
			`--select "tagg:x": unknown selector method "tagg" — did you mean "tag"? ` +
			`(methods: config.<key>, file, fqn, path, resource_type, source, state, tag, test_name, test_type)`},
	}
	m := testManifest()
	for _, tc := range tests {
		state := stateManifest()
		if tc.noState {
			state = nil
		}
		got, err := Select(m, nil, tc.include, tc.exclude, state)
		if err == nil {
			t.Errorf("Select(%q, %q) = %v, want error", tc.include, tc.exclude, got)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Select(%q, %q) error\n got %s\nwant %s", tc.include, tc.exclude, err, tc.want)
		}
	}
}

func TestGraph(t *testing.T) {
	m := testManifest()
	m.Nodes["model.dangling"] = &manifest.Node{ID: "model.dangling", Name: "dangling", DependsOn: []manifest.NodeID{"model.missing"}}
	g := Graph(m)
	if g.Len() != len(m.Nodes) || g.Has("model.missing") {
		t.Fatalf("graph has %d nodes, want %d without missing deps", g.Len(), len(m.Nodes))
	}
	if got := strings.Join(g.Parents("model.fct_orders"), " "); got != "model.stg_orders model.stg_users" {
		t.Fatalf("parents = %s", got)
	}
	order, err := g.TopoSort()
	if err != nil || order[0] != "model.dangling" {
		t.Fatalf("order %v err %v", order, err)
	}
}

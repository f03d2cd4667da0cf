package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
)

func TestRunBuildsModelsSeedsAndState(t *testing.T) {
	f := newFixture(t)
	f.seed("countries", "code,name\nde,Germany\nfr,France\n", nil)
	f.model("base", "table", "select range as id from range(5)")
	f.model("eph", "ephemeral", "")
	f.model("evens", "view", "with __elt_eph_eph as (select * from \"main\".\"base\")\nselect * from __elt_eph_eph where id % 2 = 0",
		manifest.ModelID("eph"))
	f.m.Nodes[manifest.ModelID("eph")].DependsOn = []manifest.NodeID{manifest.ModelID("base")}
	f.model("joined", "table", "select e.id, c.name from \"main\".\"evens\" e cross join \"main\".\"countries\" c",
		manifest.ModelID("evens"), manifest.SeedID("countries"))

	res, events := f.exec(4)
	if got := f.kinds(); got != "main.base:table main.countries:table main.evens:view main.joined:table" {
		t.Fatalf("relations: %s", got)
	}
	want := map[manifest.NodeID]int64{"seed.countries": 2, "model.base": 5, "model.evens": -1, "model.joined": 6}
	if len(res.Nodes) != len(want) {
		t.Fatalf("results: %+v (the ephemeral must not be counted)", res.Nodes)
	}
	for id, rows := range want {
		r := result(t, res, id)
		if r.Status != StatusSuccess || r.Rows != rows || r.Message != "" {
			t.Errorf("%s: status %s rows %d message %q, want success %d", id, r.Status, r.Rows, r.Message, rows)
		}
		if r.Relation != f.m.Nodes[id].Relation || r.Duration <= 0 {
			t.Errorf("%s: relation %q duration %s", id, r.Relation, r.Duration)
		}
	}
	// Events: one start and one end per node, Index 1..Total, Total = 4.
	starts, ends := map[int]string{}, map[int]string{}
	for _, e := range events {
		if e.Total != 4 {
			t.Errorf("Total = %d, want 4", e.Total)
		}
		if e.Kind == NodeStart {
			starts[e.Index] = string(e.Node.ID)
		} else {
			ends[e.Index] = string(e.Node.ID)
			if e.Result == nil || e.Result.NodeID != e.Node.ID {
				t.Errorf("NodeEnd without its result: %+v", e)
			}
		}
	}
	for i := 1; i <= 4; i++ {
		if starts[i] == "" || starts[i] != ends[i] {
			t.Errorf("index %d: start %q end %q", i, starts[i], ends[i])
		}
	}
	// The seed and base come before what reads them.
	order := map[string]int{}
	for i, id := range starts {
		order[id] = i
	}
	if order["model.joined"] < order["model.evens"] || order["model.joined"] < order["seed.countries"] || order["model.evens"] < order["model.base"] {
		t.Errorf("start order %v breaks dependencies (through the ephemeral too)", starts)
	}
	// State: one row per built node, with rows and fingerprint; the invocation finished.
	if got := f.query("select node_id, status, rows_affected, fingerprint from elt_state.node_results order by node_id"); got !=
		"model.base|success|5|fp-base;model.evens|success|<nil>|fp-evens;model.joined|success|6|fp-joined;seed.countries|success|2|;" {
		t.Errorf("node_results: %s", got)
	}
	if got := f.query("select run_id, command, status, completed_at is not null from elt_state.invocations"); got != "run-1|run|success|true;" {
		t.Errorf("invocations: %s", got)
	}
}

func TestTableRebuildIsAtomic(t *testing.T) {
	tests := []struct{ name, bad, msg string }{
		{"execution error", "select cast('x' || id as integer) as id from range(3) t(id)", "Conversion Error"},
		{"binder error", "select id,\n  no_such_column\nfrom range(3) t(id)", "target/compiled/p/models/orders.sql:2: Binder Error"},
		{"catalog error", "select * from main.missing", "Catalog Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.model("orders", "table", "select range as id from range(3)")
			if r := result(t, mustRun(f), "model.orders"); r.Status != StatusSuccess || r.Rows != 3 {
				t.Fatalf("first build: %+v", r)
			}
			f.model("orders", "table", tt.bad)
			res := mustRun(f)
			r := result(t, res, "model.orders")
			if r.Status != StatusError || !strings.Contains(r.Message, tt.msg) || r.Rows != -1 {
				t.Fatalf("failing rebuild: status %s rows %d message %q, want error containing %q", r.Status, r.Rows, r.Message, tt.msg)
			}
			if got := f.query("select count(*), sum(id) from main.orders"); got != "3|3;" {
				t.Errorf("previous table lost: %s", got)
			}
			if got := f.kinds(); got != "main.orders:table" {
				t.Errorf("relations after failure: %s (no %s may remain)", got, materialize.StagingSuffix)
			}
			if got := f.query("select count(*) from elt_state.node_results where run_id = 'run-2'"); got != "0;" {
				t.Errorf("state row written for a failed node: %s", got)
			}
			if got := f.query("select status from elt_state.invocations where run_id = 'run-2'"); got != "error;" {
				t.Errorf("invocation status: %s", got)
			}
		})
	}
}

func mustRun(f *fixture) *RunResult {
	res, _ := f.exec(2)
	return res
}

func TestSwitchViewAndTable(t *testing.T) {
	f := newFixture(t)
	steps := []struct{ mat, kind string }{
		{"view", "view"}, {"table", "table"}, {"table", "table"}, {"view", "view"}, {"view", "view"}, {"table", "table"},
	}
	for i, s := range steps {
		f.model("m", s.mat, fmt.Sprintf("select %d as step", i))
		r := result(t, mustRun(f), "model.m")
		if r.Status != StatusSuccess {
			t.Fatalf("step %d (%s): %+v", i, s.mat, r)
		}
		if got := f.kinds(); got != "main.m:"+s.kind {
			t.Fatalf("step %d: relations %s", i, got)
		}
		if got := f.query("select step from main.m"); got != fmt.Sprintf("%d;", i) {
			t.Fatalf("step %d: data %s", i, got)
		}
	}
}

func TestSeedColumnTypes(t *testing.T) {
	f := newFixture(t)
	f.seed("products", "id,code,price,launched\n1,007,9.5,2024-01-02\n2,010,10,2024-03-04\n3,100,1.25,2024-05-06\n",
		map[string]string{"code": "VARCHAR", "price": "DECIMAL(10,2)"})
	r := result(t, mustRun(f), "seed.products")
	if r.Status != StatusSuccess || r.Rows != 3 || r.Relation != `"main"."products"` {
		t.Fatalf("seed: %+v", r)
	}
	cols, err := f.db.Columns(context.Background(), `"main"."products"`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cols) != "[{id BIGINT} {code VARCHAR} {price DECIMAL(10,2)} {launched DATE}]" {
		t.Errorf("columns: %v", cols)
	}
	if got := f.query("select code, price::varchar from main.products order by id"); got != "007|9.50;010|10.00;100|1.25;" {
		t.Errorf("rows: %s", got)
	}
	// A reload replaces the data, and a bad type fails keeping the old table.
	f.seed("products", "id,code,price,launched\n4,x,1,2024-01-01\n", map[string]string{"code": "INTEGER"})
	r = result(t, mustRun(f), "seed.products")
	if r.Status != StatusError || !strings.HasPrefix(r.Message, "seeds/products.csv: ") || !strings.Contains(r.Message, "x") {
		t.Fatalf("bad seed: %+v", r)
	}
	if got := f.query("select count(*) from main.products"); got != "3;" {
		t.Errorf("seed data lost: %s", got)
	}
}

func TestSkipDescendantsOfFailure(t *testing.T) {
	f := newFixture(t)
	f.model("a", "table", "select 1 as x")
	f.model("b", "table", "select nope from main.a", "model.a")
	f.model("c", "view", "select * from main.b", "model.b")
	f.model("e", "ephemeral", "", "model.c")
	f.model("d", "table", "with __elt_eph_e as (select * from main.c) select * from __elt_eph_e", "model.e")
	f.model("z", "view", "select 2 as y")
	res, events := f.exec(3)
	want := map[manifest.NodeID][2]string{
		"model.a": {StatusSuccess, ""},
		"model.b": {StatusError, "target/compiled/p/models/b.sql:1: Binder Error"},
		"model.c": {StatusSkipped, "skipped: upstream model.b failed"},
		"model.d": {StatusSkipped, "skipped: upstream model.b failed"},
		"model.z": {StatusSuccess, ""},
	}
	for id, w := range want {
		r := result(t, res, id)
		if r.Status != w[0] || !strings.HasPrefix(r.Message, w[1]) {
			t.Errorf("%s: %s %q, want %s %q", id, r.Status, r.Message, w[0], w[1])
		}
	}
	if got := f.kinds(); got != "main.a:table main.z:view" {
		t.Errorf("relations: %s", got)
	}
	if !res.Failed() || res.Counts()[StatusSkipped] != 2 {
		t.Errorf("counts: %v", res.Counts())
	}
	ends := 0
	for _, e := range events {
		if e.Kind == NodeEnd {
			ends++
		}
	}
	if ends != 5 {
		t.Errorf("NodeEnd events: %d, want 5 (skipped nodes included)", ends)
	}
}

// TestParallelThreadsSameTables builds a layered graph with 1 and with 4
// threads and compares every relation's content.
func TestParallelThreadsSameTables(t *testing.T) {
	build := func(threads int) (string, string) {
		f := newFixture(t)
		f.model("l0", "table", "select range as id, range * 7 as v from range(100)")
		prev := []string{"l0"}
		for layer := 1; layer <= 4; layer++ {
			var cur []string
			for j := 0; j < 6; j++ {
				name := fmt.Sprintf("l%d_%d", layer, j)
				up := prev[j%len(prev)]
				up2 := prev[(j+1)%len(prev)]
				mat := "table"
				if j%2 == 1 {
					mat = "view"
				}
				f.model(name, mat, fmt.Sprintf("select a.id, a.id * %d + coalesce(b.id, 0) as v from main.%s a left join main.%s b using (id)", j+1, up, up2),
					manifest.ModelID(up), manifest.ModelID(up2))
				cur = append(cur, name)
			}
			prev = cur
		}
		res, _ := f.exec(threads)
		if res.Failed() {
			t.Fatalf("threads=%d: %+v", threads, res.Nodes)
		}
		var b strings.Builder
		for _, id := range f.all() {
			fmt.Fprintf(&b, "%s=%s\n", id, f.query("select count(*), sum(hash(id, v)) from "+f.m.Nodes[id].Relation))
		}
		return f.kinds(), b.String()
	}
	k1, c1 := build(1)
	k4, c4 := build(4)
	if k1 != k4 || c1 != c4 {
		t.Fatalf("threads change the result:\n%s\n%s\nvs\n%s\n%s", k1, c1, k4, c4)
	}
}

func TestMissingSourceFiles(t *testing.T) {
	f := newFixture(t)
	f.source("raw", "events", "data/raw/events/date=*/*.csv")
	f.model("stg_events", "table", "select * from read_csv('data/raw/events/date=*/*.csv', hive_partitioning=true, header=true)",
		"source.raw.events")
	r := result(t, mustRun(f), "model.stg_events")
	want := `source raw.events: no files match "data/raw/events/date=*/*.csv" (models/sources.yml:5) — check the path or generate the data first`
	if r.Status != StatusError || r.Message != want {
		t.Fatalf("got %s %q\nwant %q", r.Status, r.Message, want)
	}
	f.write("data/raw/events/date=2025-01-01/part.csv", "event_id,amount\n1,10\n2,20\n")
	f.write("data/raw/events/date=2025-01-02/part.csv", "event_id,amount\n3,30\n")
	r = result(t, mustRun(f), "model.stg_events")
	if r.Status != StatusSuccess || r.Rows != 3 {
		t.Fatalf("with files: %+v", r)
	}
	if got := f.query("select count(distinct date), sum(amount) from main.stg_events"); got != "2|60;" {
		t.Errorf("hive partitions / relative path: %s", got)
	}
}

func TestHooksRunInsideTheTransaction(t *testing.T) {
	f := newFixture(t)
	if err := f.db.Exec(context.Background(), "create table main.audit (msg varchar)"); err != nil {
		t.Fatal(err)
	}
	n := f.model("m", "table", "select 1 as x")
	n.Config.PreHook = []string{"insert into main.audit values ('pre')"}
	n.Config.PostHook = []string{"insert into main.audit select 'post ' || count(*) from main.m"}
	if r := result(t, mustRun(f), "model.m"); r.Status != StatusSuccess {
		t.Fatalf("%+v", r)
	}
	if got := f.query("select msg from main.audit order by msg"); got != "post 1;pre;" {
		t.Fatalf("audit: %s", got)
	}
	n.CompiledSQL = "select 1 as x union all select 2"
	n.Config.PostHook = []string{"insert into main.audit values ('post2')", "select * from main.nosuch"}
	r := result(t, mustRun(f), "model.m")
	if r.Status != StatusError || !strings.HasPrefix(r.Message, "post_hook 2 of model.m failed: Catalog Error") {
		t.Fatalf("failing post_hook: %+v", r)
	}
	if got := f.query("select msg from main.audit order by msg"); got != "post 1;pre;" {
		t.Errorf("hooks of the failed node were not rolled back: %s", got)
	}
	if got := f.query("select count(*) from main.m"); got != "1;" {
		t.Errorf("model changed despite failing post_hook: %s", got)
	}
}

// TestIncrementalAppends builds an incremental model (strategy append by
// default) twice: the first run creates it, the second appends its batch.
func TestIncrementalAppends(t *testing.T) {
	f := newFixture(t)
	f.model("inc", "incremental", "select 1 as x")
	if r := result(t, mustRun(f), "model.inc"); r.Status != StatusSuccess || r.Rows != 1 {
		t.Fatalf("first run: %+v", r)
	}
	if r := result(t, mustRun(f), "model.inc"); r.Status != StatusSuccess || r.Rows != 2 {
		t.Fatalf("second run: %+v", r)
	}
}

// TestIncrementalQuotedNames: incremental models whose names hold a quote
// or a dot read their columns right (DuckDB's pragma_table_info drops a
// doubled quote from the name it is given).
func TestIncrementalQuotedNames(t *testing.T) {
	f := newFixture(t)
	f.model(`q"t`, "incremental", "select 1 as x")
	f.model("d.t", "incremental", "select 1 as x")
	for run, want := range []int64{1, 2} {
		res := mustRun(f)
		for _, id := range []manifest.NodeID{manifest.ModelID(`q"t`), manifest.ModelID("d.t")} {
			if r := result(t, res, id); r.Status != StatusSuccess || r.Rows != want {
				t.Fatalf("run %d of %s: %+v", run+1, id, r)
			}
		}
	}
}

func TestSelectedSubsetKeepsOrderThroughUnselected(t *testing.T) {
	f := newFixture(t)
	f.model("a", "table", "select 1 as x")
	f.model("b", "view", "select * from main.a", "model.a")
	f.model("c", "table", "select * from main.b", "model.b")
	// First build everything, then rebuild only a and c: c must wait for a.
	mustRun(f)
	res, events := f.exec(4, "model.a", "model.c")
	if len(res.Nodes) != 2 || res.Failed() {
		t.Fatalf("%+v", res.Nodes)
	}
	var order []string
	for _, e := range events {
		if e.Kind == NodeStart {
			order = append(order, string(e.Node.ID))
		}
	}
	if strings.Join(order, ",") != "model.a,model.c" {
		t.Errorf("start order %v", order)
	}
	if _, err := Run(context.Background(), f.db, f.m, []manifest.NodeID{"model.nope"}, Options{InvocationID: "x"}); err == nil {
		t.Error("unknown selected node accepted")
	}
}

const slowSQL = "select count(*) as n from range(3000000000) a"

func TestFailFastCancelsTheRest(t *testing.T) {
	f := newFixture(t)
	f.model("a_fail", "table", "select cast('x' as integer) as x")
	f.model("b_slow", "table", slowSQL)
	f.model("c_later", "table", "select 1 as x", "model.b_slow")
	start := time.Now()
	res, _, err := f.execCtx(context.Background(), Options{Threads: 2, FailFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("fail-fast took %s", d)
	}
	if r := result(t, res, "model.a_fail"); r.Status != StatusError {
		t.Errorf("a_fail: %+v", r)
	}
	for _, id := range []manifest.NodeID{"model.b_slow", "model.c_later"} {
		r := result(t, res, id)
		if r.Status != StatusSkipped || !strings.Contains(r.Message, "after model.a_fail failed (--fail-fast)") {
			t.Errorf("%s: %s %q", id, r.Status, r.Message)
		}
	}
	if got := f.kinds(); got != "" {
		t.Errorf("relations: %s", got)
	}
}

func TestCancelRollsBackInFlight(t *testing.T) {
	f := newFixture(t)
	f.model("slow", "table", slowSQL)
	f.model("after", "table", "select 1 as x", "model.slow")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	res, _, err := f.execCtx(ctx, Options{Threads: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if r := result(t, res, "model.slow"); r.Status != StatusError || r.Message != "cancelled; rolled back" {
		t.Errorf("slow: %+v", r)
	}
	if r := result(t, res, "model.after"); r.Status != StatusSkipped {
		t.Errorf("after: %+v", r)
	}
	if got := f.kinds(); got != "" {
		t.Errorf("relations: %s", got)
	}
	if got := f.query("select status from elt_state.invocations"); got != "cancelled;" {
		t.Errorf("invocation: %s", got)
	}
}

func TestWriteRunResults(t *testing.T) {
	f := newFixture(t)
	f.model("ok_table", "table", "select 1 as x union all select 2")
	f.model("ok_view", "view", "select 1 as x")
	f.model("bad", "table", "select nope")
	f.model("after_bad", "view", "select * from main.bad", "model.bad")
	res := mustRun(f)
	path := filepath.Join(f.dir, "target", "run_results.json")
	if err := WriteRunResults(path, res, f.m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metadata struct {
			GeneratedAt  string `json:"generated_at"`
			InvocationID string `json:"invocation_id"`
			ProjectName  string `json:"project_name"`
		} `json:"metadata"`
		Results []struct {
			UniqueID     string `json:"unique_id"`
			Status       string `json:"status"`
			RowsAffected *int64 `json:"rows_affected"`
			Message      string `json:"message"`
			Relation     string `json:"relation_name"`
			CompiledPath string `json:"compiled_path"`
			Timing       []struct {
				Name        string `json:"name"`
				StartedAt   string `json:"started_at"`
				CompletedAt string `json:"completed_at"`
			} `json:"timing"`
			ExecutionTime float64 `json:"execution_time"`
		} `json:"results"`
		ElapsedTime float64 `json:"elapsed_time"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.InvocationID != "run-1" || got.Metadata.ProjectName != "p" || got.ElapsedTime <= 0 {
		t.Errorf("metadata: %+v elapsed %v", got.Metadata, got.ElapsedTime)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.Metadata.GeneratedAt); err != nil {
		t.Errorf("generated_at: %v", err)
	}
	var lines []string
	for _, r := range got.Results {
		rows := "null"
		if r.RowsAffected != nil {
			rows = fmt.Sprint(*r.RowsAffected)
		}
		msg := r.Message
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		lines = append(lines, fmt.Sprintf("%s %s rows=%s rel=%s path=%s msg=%q", r.UniqueID, r.Status, rows, r.Relation, r.CompiledPath, msg))
		if len(r.Timing) != 1 || r.Timing[0].Name != "execute" || r.Timing[0].StartedAt == "" || r.ExecutionTime < 0 {
			t.Errorf("%s timing: %+v %v", r.UniqueID, r.Timing, r.ExecutionTime)
		}
	}
	want := []string{
		`model.after_bad skipped rows=null rel="main"."after_bad" path=target/compiled/p/models/after_bad.sql msg="skipped: upstream model.bad failed"`,
		`model.bad error rows=null rel="main"."bad" path=target/compiled/p/models/bad.sql msg="target/compiled/p/models/bad.sql:1: Binder Error: Referenced column \"nope\" was not found because the FROM clause is missing"`,
		`model.ok_table success rows=2 rel="main"."ok_table" path=target/compiled/p/models/ok_table.sql msg=""`,
		`model.ok_view success rows=null rel="main"."ok_view" path=target/compiled/p/models/ok_view.sql msg=""`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestMarkUnpersisted(t *testing.T) {
	nodes := []NodeResult{
		{NodeID: "model.kept", Status: StatusSuccess, Rows: 3},
		{NodeID: "model.lost", Status: StatusSuccess, Rows: 3},
		{NodeID: "model.failed", Status: StatusError, Rows: -1, Message: "boom"},
	}
	markUnpersisted(nodes, map[string]bool{"model.kept": true})
	if nodes[0].Status != StatusSuccess || nodes[0].Rows != 3 {
		t.Errorf("kept: %+v", nodes[0])
	}
	if nodes[1].Status != StatusError || nodes[1].Rows != -1 || !strings.Contains(nodes[1].Message, "model.lost did not persist") {
		t.Errorf("lost: %+v", nodes[1])
	}
	if nodes[2].Message != "boom" {
		t.Errorf("failed: %+v", nodes[2])
	}
}

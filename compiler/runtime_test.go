package compiler

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

// recordingQuery answers run_query() with fixed rows by SQL text and keeps
// the statements it was asked to run.
type recordingQuery struct {
	results map[string]*QueryResult
	ran     []string
}

func (q *recordingQuery) query(sql string) (*QueryResult, error) {
	q.ran = append(q.ran, sql)
	if r, ok := q.results[sql]; ok {
		return r, nil
	}
	return nil, errors.New("no such table")
}

func loadCase(t *testing.T, name string) (*project.Project, *manifest.Manifest) {
	t.Helper()
	p, errs := project.Load(filepath.Join("testdata", name))
	if errs.HasErrors() {
		t.Fatalf("load: %v", errs.Err())
	}
	m, diags := Compile(p, fixedOptions())
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags.Err())
	}
	return p, m
}

func TestRenderHooks(t *testing.T) {
	p, m := loadCase(t, "hooks")
	q := &recordingQuery{results: map[string]*QueryResult{
		"select 1 as n, 2 as m": {Columns: []string{"n", "m"}, Rows: [][]any{{1, 2}, {3, 4}}},
	}}
	opts := fixedOptions()
	opts.Query = q.query
	start, diags := RenderHooks(p, m, p.OnRunStart, opts)
	if diags.HasErrors() {
		t.Fatalf("on-run-start: %v", diags.Err())
	}
	want := []string{
		"insert into audit values (1, 2, 'n,m', 1, 3, 2)",
		"create schema if not exists main",
	}
	if !reflect.DeepEqual(start, want) {
		t.Errorf("on-run-start rendered\n%q\nwant\n%q", start, want)
	}
	if !reflect.DeepEqual(q.ran, []string{"select 1 as n, 2 as m"}) {
		t.Errorf("queries run: %q", q.ran)
	}
	end, diags := RenderHooks(p, m, p.OnRunEnd, opts)
	if diags.HasErrors() || !reflect.DeepEqual(end, []string{`analyze "main"."base"`}) {
		t.Errorf("on-run-end: %q, %v", end, diags.Err())
	}

	// Without a database, run_query() is an error placed on the hook's line.
	_, diags = RenderHooks(p, m, p.OnRunStart, fixedOptions())
	if len(diags) != 1 || !strings.Contains(diags[0].Error(), "project.yaml:3: run_query() needs a database") {
		t.Errorf("hook without database: %v", diags)
	}
}

func TestRenderOperation(t *testing.T) {
	p, m := loadCase(t, "hooks")
	q := &recordingQuery{results: map[string]*QueryResult{
		"select name from relations": {Columns: []string{"name"}, Rows: [][]any{{"a"}, {"b"}}},
	}}
	opts := fixedOptions()
	opts.Query = q.query
	tests := []struct {
		name, macro string
		args        map[string]any
		want        string
		wantErr     string
	}{
		{name: "renders", macro: "grant_select", args: map[string]any{"role": "analyst"},
			want: "grant select on a to analyst;\ngrant select on b to analyst"},
		{name: "returns", macro: "grant_select", args: map[string]any{"role": "r", "dry_run": true}, want: "2"},
		{name: "missing argument", macro: "grant_select", args: nil, wantErr: "macro grant_select needs argument role"},
		{name: "unknown argument", macro: "grant_select", args: map[string]any{"role": "r", "rol": 1}, wantErr: "has no argument rol"},
		{name: "unknown macro", macro: "grant_selct", wantErr: "macro grant_selct not found — did you mean grant_select?"},
		{name: "error inside", macro: "broken", wantErr: `macros/ops.sql:13: run-operation broken: "nope" is undefined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderOperation(p, m, tt.macro, tt.args, opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteArtifacts(t *testing.T) {
	_, m := loadCase(t, "ephemeral")
	dir := t.TempDir()
	if _, err := WriteArtifacts(m, dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	sql, err := os.ReadFile(filepath.Join(dir, "compiled", "models", "plain.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(sql), "with __elt_eph_eph_a as (") {
		t.Errorf("compiled plain.sql = %q", sql)
	}
	first, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadManifest(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain := back.Nodes["model.plain"]
	if plain == nil || plain.Fingerprint != m.Nodes["model.plain"].Fingerprint ||
		!reflect.DeepEqual(plain.DependsOn, []manifest.NodeID{"model.eph_a", "model.eph_b"}) ||
		plain.CompiledPath != "target/compiled/models/plain.sql" || plain.Config.Materialized != "table" {
		t.Errorf("manifest round trip lost data: %+v", plain)
	}
	if !reflect.DeepEqual(back.Children["model.eph_a"], []manifest.NodeID{"model.eph_b", "model.plain", "model.with_cte"}) {
		t.Errorf("child_map of eph_a = %v", back.Children["model.eph_a"])
	}
	// Keys are sorted: "alias" comes before "checksum" in every node.
	if i, j := strings.Index(string(first), `"alias"`), strings.Index(string(first), `"checksum"`); i < 0 || j < 0 || i > j {
		t.Errorf("manifest.json keys not sorted")
	}
	// A second compile writes byte-identical files.
	_, m2 := loadCase(t, "ephemeral")
	if _, err := WriteArtifacts(m2, dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if string(first) != string(second) {
		t.Errorf("manifest.json differs between two compiles")
	}
}

// TestDeterministic compiles one project with 1 and 8 workers and checks
// the manifests are identical.
func TestDeterministic(t *testing.T) {
	p, errs := project.Load(filepath.Join("testdata", "refs_sources"))
	if errs.HasErrors() {
		t.Fatal(errs.Err())
	}
	var outs []string
	for _, n := range []int{1, 8} {
		opts := fixedOptions()
		opts.Threads = n
		m, diags := Compile(p, opts)
		data, err := manifest.Encode(m)
		if err != nil || diags.HasErrors() {
			t.Fatal(err, diags.Err())
		}
		outs = append(outs, string(data))
	}
	if outs[0] != outs[1] {
		t.Error("manifest depends on the number of workers")
	}
}

// TestFingerprintAcrossReleases: a node's fingerprint is stored in
// elt_state (a microbatch model's intervals, node results) and compared
// with the next release's: the same SQL and config must hash the same, or
// an upgrade would make every model look changed (and rebuild every
// interval). The value is what elt computed before manifest.json's keys
// were sorted without a sorting pass (Config keeps its field order).
func TestFingerprintAcrossReleases(t *testing.T) {
	got := fingerprint("select * from orders where amount > 0", fingerprintStabilityConfig())
	if want := "0cc9777392203c679b71e86ac7d10fd35dc537be56e33daa05c95ddb257a3b3d"; got != want {
		t.Errorf("fingerprint = %s, want %s: a change to Config's (or QuarantineRule's, Contract's) field order, tags or encoding changes every stored fingerprint", got, want)
	}
}

func fingerprintStabilityConfig() manifest.Config {
	cfg := manifest.DefaultConfig()
	f, ratio := false, 0.25
	cfg.Materialized, cfg.Alias, cfg.Tags = "incremental", "orders_v2", []string{"nightly", "core"}
	cfg.Meta = map[string]any{"owner": "data", "tier": 1}
	cfg.IncrementalStrategy, cfg.UniqueKey, cfg.EventTime, cfg.BatchSize = "microbatch", []string{"id"}, "ts", "day"
	cfg.Begin, cfg.Lookback, cfg.FullRefresh = "2025-01-01", 2, &f
	cfg.Quarantine = []manifest.QuarantineRule{{Name: "neg", Condition: "amount < 0"}}
	cfg.MaxQuarantineRatio, cfg.Contract = &ratio, &manifest.Contract{Enforced: true}
	cfg.PreHook, cfg.Retries, cfg.RetryDelay = []string{"select 1"}, 2, "1s"
	return cfg
}

// TestFingerprint checks that the fingerprint moves with the SQL and the
// config and with nothing else.
func TestFingerprint(t *testing.T) {
	base := fingerprint("select 1", manifest.DefaultConfig())
	if base != fingerprint("select 1", manifest.DefaultConfig()) {
		t.Fatal("fingerprint is not stable")
	}
	cfg := manifest.DefaultConfig()
	cfg.Materialized = "table"
	if fingerprint("select 2", manifest.DefaultConfig()) == base || fingerprint("select 1", cfg) == base {
		t.Error("fingerprint ignores SQL or config")
	}
	if len(base) != 64 {
		t.Errorf("fingerprint %q is not hex sha256", base)
	}
	profiled := manifest.DefaultConfig()
	profiled.Profile = true
	if fingerprint("select 1", profiled) != base {
		t.Error("profile: true changed the fingerprint: asking for column profiles would rebuild a microbatch model's intervals")
	}
}

package materialize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func incremental(strategy, existing string, mod func(*manifest.Config)) Input {
	in := model("incremental", existing, "select *\nfrom \"main\".\"raw\"\n")
	in.Config.IncrementalStrategy = strategy
	if mod != nil {
		mod(&in.Config)
	}
	return in
}

var (
	orderCols = []Column{{"order_id", "INTEGER"}, {"line", "INTEGER"}, {"amount", "DECIMAL(10,2)"}, {"updated_at", "TIMESTAMP"}}
	keyed     = func(c *manifest.Config) { c.UniqueKey = []string{"order_id", "line"}; c.UpdatedAt = "updated_at" }
)

// TestIncrementalGolden renders the plan and the publish statements of
// every strategy, on a first run and on an incremental run.
func TestIncrementalGolden(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		target     []Column
		batch      []Column
		publishErr string
	}{
		{name: "append_first", in: incremental("append", "", nil)},
		{name: "append", in: incremental("append", ExistingTable, nil), target: orderCols, batch: orderCols},
		{name: "default_append", in: incremental("", ExistingTable, nil), target: orderCols, batch: orderCols},
		{name: "merge_first", in: incremental("merge", "", keyed)},
		{name: "merge_full_refresh", in: func() Input { in := incremental("merge", ExistingTable, keyed); in.FullRefresh = true; return in }()},
		{name: "merge_config_full_refresh_false", in: func() Input {
			in := incremental("merge", ExistingTable, func(c *manifest.Config) { keyed(c); no := false; c.FullRefresh = &no })
			in.FullRefresh = true
			return in
		}(), target: orderCols, batch: orderCols},
		{name: "merge", in: incremental("merge", ExistingTable, keyed), target: orderCols, batch: orderCols},
		{name: "merge_no_updated_at", in: incremental("merge", ExistingTable, func(c *manifest.Config) { c.UniqueKey = []string{"order_id"} }), target: orderCols, batch: orderCols},
		{name: "delete_insert", in: incremental("delete+insert", ExistingTable, keyed), target: orderCols, batch: orderCols},
		{name: "insert_overwrite", in: incremental("insert_overwrite", ExistingTable, func(c *manifest.Config) { c.PartitionBy = []string{"order_date"} }),
			target: append(orderCols, Column{"order_date", "DATE"}), batch: append(orderCols, Column{"order_date", "DATE"})},
		{name: "delete_insert_key_range", in: func() Input {
			in := incremental("delete+insert", ExistingTable, keyed)
			in.KeyRange = &KeyRange{Column: "order_id", Type: "INTEGER", Min: "7", Max: "42"}
			return in
		}(), target: orderCols, batch: orderCols},
		{name: "insert_overwrite_key_range_null", in: func() Input {
			in := incremental("insert_overwrite", ExistingTable, func(c *manifest.Config) { c.PartitionBy = []string{"order_date"} })
			in.KeyRange = &KeyRange{Column: "order_date", Type: "DATE", Min: "2025-01-02", Max: "2025-01-03", HasNull: true}
			return in
		}(), target: append(orderCols, Column{"order_date", "DATE"}), batch: append(orderCols, Column{"order_date", "DATE"})},
		{name: "delete_insert_one_key_value", in: func() Input {
			in := incremental("delete+insert", ExistingTable, func(c *manifest.Config) { c.UniqueKey = []string{"order_date"} })
			in.KeyRange = &KeyRange{Column: "order_date", Type: "DATE", Min: "2025-01-02", Max: "2025-01-02"}
			return in
		}(), target: append(orderCols, Column{"order_date", "DATE"}), batch: append(orderCols, Column{"order_date", "DATE"})},
		{name: "insert_overwrite_one_partition_null", in: func() Input {
			in := incremental("insert_overwrite", ExistingTable, func(c *manifest.Config) { c.PartitionBy = []string{"order_date"} })
			in.KeyRange = &KeyRange{Column: "order_date", Type: "DATE", Min: "2025-01-02", Max: "2025-01-02", HasNull: true}
			return in
		}(), target: append(orderCols, Column{"order_date", "DATE"}), batch: append(orderCols, Column{"order_date", "DATE"})},
		{name: "delete_insert_two_keys_one_value", in: func() Input {
			in := incremental("delete+insert", ExistingTable, keyed)
			in.KeyRange = &KeyRange{Column: "order_id", Type: "INTEGER", Min: "7", Max: "7"}
			return in
		}(), target: orderCols, batch: orderCols},
		{name: "microbatch_first", in: func() Input {
			in := incremental("microbatch", "", func(c *manifest.Config) { c.EventTime = "updated_at"; c.BatchSize = "day"; c.Begin = "2025-01-01" })
			in.BatchStart, in.BatchEnd = "2025-01-02 00:00:00", "2025-01-03 00:00:00"
			return in
		}(), batch: orderCols},
		{name: "microbatch", in: func() Input {
			in := incremental("microbatch", ExistingTable, func(c *manifest.Config) { c.EventTime = "updated_at"; c.BatchSize = "day"; c.Begin = "2025-01-01" })
			in.BatchStart, in.BatchEnd = "2025-01-02 00:00:00", "2025-01-03 00:00:00"
			return in
		}(), target: orderCols, batch: orderCols},
		{name: "schema_append_new_columns", in: incremental("append", ExistingTable, func(c *manifest.Config) { c.OnSchemaChange = "append_new_columns" }),
			target: orderCols, batch: []Column{{"order_id", "INTEGER"}, {"amount", "DECIMAL(10,2)"}, {"updated_at", "TIMESTAMP"}, {"channel", "VARCHAR"}}},
		{name: "schema_sync_all_columns", in: incremental("merge", ExistingTable, func(c *manifest.Config) { keyed(c); c.OnSchemaChange = "sync_all_columns" }),
			target: orderCols, batch: []Column{{"order_id", "BIGINT"}, {"line", "INTEGER"}, {"updated_at", "TIMESTAMP"}, {"channel", "VARCHAR"}}},
		{name: "schema_ignore", in: incremental("append", ExistingTable, nil),
			target: orderCols, batch: []Column{{"order_id", "INTEGER"}, {"updated_at", "TIMESTAMP"}, {"channel", "VARCHAR"}}},
		{name: "schema_fail", in: incremental("append", ExistingTable, func(c *manifest.Config) { c.OnSchemaChange = "fail" }),
			target: orderCols, batch: []Column{{"order_id", "BIGINT"}, {"line", "INTEGER"}, {"updated_at", "TIMESTAMP"}, {"channel", "VARCHAR"}},
			publishErr: "the model's columns changed (added: channel (VARCHAR); removed: amount (DECIMAL(10,2)); retyped: order_id INTEGER → BIGINT) and on_schema_change is 'fail'"},
		{name: "schema_sync_narrowing", in: incremental("append", ExistingTable, func(c *manifest.Config) { c.OnSchemaChange = "sync_all_columns" }),
			target: orderCols, batch: []Column{{"order_id", "VARCHAR"}, {"line", "INTEGER"}, {"amount", "DECIMAL(10,2)"}, {"updated_at", "TIMESTAMP"}},
			publishErr: "cannot change order_id INTEGER → VARCHAR without losing values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := render(p)
			if p.Incremental {
				stmts, err := Publish(tt.in, tt.target, tt.batch)
				if tt.publishErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.publishErr) {
						t.Fatalf("Publish error = %v, want one containing %q", err, tt.publishErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got += "\n-- incremental publish\n" + strings.Join(stmts, "\n\n") + "\n"
			} else if tt.publishErr != "" {
				t.Fatal("expected an incremental plan")
			}
			golden(t, "incremental/"+tt.name+".sql", got)
		})
	}
}

// TestIncrementalConfigErrors checks that a strategy missing its keys is
// refused with a message naming the key.
func TestIncrementalConfigErrors(t *testing.T) {
	tests := []struct {
		in   Input
		want string
	}{
		{incremental("merge", ExistingTable, nil), "needs a unique_key"},
		{incremental("delete+insert", ExistingTable, nil), "needs a unique_key"},
		{incremental("insert_overwrite", ExistingTable, nil), "needs partition_by"},
		{incremental("microbatch", ExistingTable, func(c *manifest.Config) { c.EventTime = "ts" }), "needs batch_size, begin"},
		{incremental("microbatch", ExistingTable, func(c *manifest.Config) {
			c.EventTime, c.BatchSize, c.Begin = "ts", "day", "2025-01-01"
			c.Quarantine = []manifest.QuarantineRule{{Name: "pos", Condition: "x > 0"}}
		}), "not supported on a microbatch model"},
	}
	for _, tt := range tests {
		_, err := Build(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.in.Config.IncrementalStrategy, err, tt.want)
		}
	}
}

// TestMergeChecks checks that Merge refuses a key or updated_at that is
// not a column.
func TestMergeChecks(t *testing.T) {
	spec := MergeSpec{Target: `"main"."t"`, Source: `"temp"."main"."b"`, UniqueKey: []string{"id"}, Columns: []string{"id", "v"}}
	if _, err := Merge(spec); err != nil {
		t.Fatal(err)
	}
	bad := spec
	bad.UniqueKey = []string{"nope"}
	if _, err := Merge(bad); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing key column: %v", err)
	}
	bad = spec
	bad.UpdatedAt = "ts"
	if _, err := Merge(bad); err == nil || !strings.Contains(err.Error(), "updated_at") {
		t.Errorf("missing updated_at column: %v", err)
	}
}

func TestSafeWidening(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"INTEGER", "BIGINT", true}, {"FLOAT", "DOUBLE", true}, {"DATE", "TIMESTAMP", true},
		{"DECIMAL(10,2)", "DECIMAL(12,2)", true}, {"DECIMAL(10,2)", "DECIMAL(10,3)", false},
		{"INTEGER", "DECIMAL(12,2)", true}, {"BIGINT", "INTEGER", false}, {"DOUBLE", "FLOAT", false},
		{"INTEGER", "VARCHAR", false}, {"VARCHAR", "VARCHAR", true},
	}
	for _, tt := range tests {
		if got := SafeWidening(tt.from, tt.to); got != tt.ok {
			t.Errorf("SafeWidening(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
}

// TestExternalGolden renders external plans: partitioned Parquet, an
// unpartitioned CSV, and an incremental rewrite of some partitions.
func TestExternalGolden(t *testing.T) {
	ext := func(existing string, mod func(*manifest.Config)) Input {
		in := model("external", existing, "select *\nfrom \"main\".\"raw\"")
		in.Location, in.WriteDir = "/p/out/orders", "/p/out/orders.__elt_tmp"
		if mod != nil {
			mod(&in.Config)
		}
		return in
	}
	tests := []struct {
		name string
		in   Input
		full bool
	}{
		{"external_partitioned", ext("", func(c *manifest.Config) { c.Location = "out/orders"; c.PartitionBy = []string{"order_date"} }), true},
		{"external_csv", ext(ExistingTable, func(c *manifest.Config) { c.Format = "csv" }), true},
		{"external_incremental", ext(ExistingView, func(c *manifest.Config) {
			c.Location = "out/orders"
			c.PartitionBy = []string{"order_date"}
			c.IncrementalStrategy = "insert_overwrite"
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.External == nil || p.External.Full != tt.full {
				t.Fatalf("External = %+v, want Full %v", p.External, tt.full)
			}
			golden(t, "incremental/"+tt.name+".sql", render(p))
		})
	}
}

func TestRangeType(t *testing.T) {
	for typ, want := range map[string]bool{
		"INTEGER": true, "bigint": true, "DATE": true, "TIMESTAMP": true, "VARCHAR": true, "DECIMAL(10,2)": true,
		"DOUBLE": false, "FLOAT": false, "TIMESTAMP WITH TIME ZONE": false, "BLOB": false, "INTEGER[]": false, "": false,
	} {
		if got := RangeType(typ); got != want {
			t.Errorf("RangeType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// TestMicrobatchReplaceGolden: a later batch replaces its interval (DELETE,
// then INSERT from the model's query, both bounded by the interval); on a
// target the run's first batch created, only the INSERT.
func TestMicrobatchReplaceGolden(t *testing.T) {
	in := incremental("microbatch", ExistingTable, func(c *manifest.Config) { c.EventTime = "updated_at"; c.BatchSize = "day"; c.Begin = "2025-01-01" })
	in.BatchStart, in.BatchEnd = "2025-01-03 00:00:00", "2025-01-04 00:00:00"
	cols := []string{"order_id", "amount", "updated_at"}
	for _, tt := range []struct {
		name  string
		fresh bool
	}{{"microbatch_replace", false}, {"microbatch_replace_fresh", true}} {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "incremental/"+tt.name+".sql", strings.Join(MicrobatchReplace(in, cols, tt.fresh), "\n\n")+"\n")
		})
	}
}

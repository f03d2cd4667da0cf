package materialize

import (
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// TestSnapshotAndCDCGolden renders the plans of snapshot and CDC merge
// models, with the statements their Publish returns for given columns,
// against testdata/<case>.sql (rewrite with -update).
func TestSnapshotAndCDCGolden(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	snap := func(existing string, cfg manifest.Config) Input {
		cfg.Materialized = "snapshot"
		return Input{Resource: manifest.Model, Schema: "main", Name: "users_snapshot", SQL: "select * from users\n",
			Existing: existing, Config: cfg, Now: now}
	}
	cdc := func(existing string, full bool) Input {
		return Input{Resource: manifest.Model, Schema: "main", Name: "dim_users", SQL: "select * from changes", Existing: existing,
			FullRefresh: full, Now: now, Config: manifest.Config{Materialized: "incremental", IncrementalStrategy: "merge",
				UniqueKey: []string{"user_id"}, UpdatedAt: "updated_at", DeleteCondition: "op = 'D'"}}
	}
	users := []Column{{"user_id", "INTEGER"}, {"region", "VARCHAR"}, {"plan", "VARCHAR"}, {"updated_at", "TIMESTAMP"}}
	snapCols := append(append([]Column(nil), users[:3]...), Column{"updated_at", "TIMESTAMP"},
		Column{"elt_scd_id", "VARCHAR"}, Column{"elt_updated_at", "TIMESTAMP"}, Column{"elt_valid_from", "TIMESTAMP"},
		Column{"elt_valid_to", "TIMESTAMP"})
	withNew := append(append([]Column(nil), users...), Column{"tier", "VARCHAR"})
	changes := []Column{{"user_id", "INTEGER"}, {"op", "VARCHAR"}, {"plan", "VARCHAR"}, {"updated_at", "TIMESTAMP"}, {CDCDeleted, "BOOLEAN"}}
	dim := changes[:4]
	ts := manifest.Config{UniqueKey: []string{"user_id"}, Strategy: "timestamp", UpdatedAt: "updated_at"}
	check := manifest.Config{UniqueKey: []string{"user_id", "region"}, Strategy: "check", CheckCols: []string{"all"}, HardDeletes: "invalidate"}
	newRecord := ts
	newRecord.HardDeletes = "new_record"
	tests := []struct {
		name          string
		in            Input
		target, batch []Column // publish columns; nil target = first run
	}{
		{"snapshot_first_run", snap("", newRecord), nil, users},
		{"snapshot_timestamp", snap(ExistingTable, ts), snapCols, users},
		{"snapshot_check_composite_invalidate", snap(ExistingTable, check), snapCols, users},
		{"snapshot_new_record_new_column", snap(ExistingTable, newRecord), snapCols, withNew},
		{"cdc_first_build", cdc("", false), nil, nil},
		{"cdc_full_refresh", cdc(ExistingTable, true), nil, nil},
		{"cdc_incremental", cdc(ExistingTable, false), dim, changes},
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
				if err != nil {
					t.Fatal(err)
				}
				got += "\n-- incremental publish\n" + strings.Join(stmts, "\n\n") + "\n"
			}
			golden(t, tt.name+".sql", got)
		})
	}
}

func TestSnapshotConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  manifest.Config
		want string
	}{
		{manifest.Config{Strategy: "timestamp", UpdatedAt: "u"}, "needs a unique_key"},
		{manifest.Config{UniqueKey: []string{"id"}}, "needs a strategy"},
		{manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp"}, "strategy 'timestamp' needs updated_at"},
		{manifest.Config{UniqueKey: []string{"id"}, Strategy: "check"}, "strategy 'check' needs check_cols"},
		{manifest.Config{UniqueKey: []string{"id"}, Strategy: "checks", CheckCols: []string{"a"}}, `unknown snapshot strategy "checks"`},
	} {
		tt.cfg.Materialized = "snapshot"
		_, err := Build(Input{Resource: manifest.Model, Schema: "main", Name: "s", SQL: "select 1", Config: tt.cfg})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	// Publish rejects what it cannot build.
	in := Input{Resource: manifest.Model, Schema: "main", Name: "s", SQL: "select 1", Now: time.Now(),
		Config: manifest.Config{Materialized: "snapshot", UniqueKey: []string{"id"}, Strategy: "check", CheckCols: []string{"nope"}}}
	if _, err := Publish(in, nil, []Column{{"id", "INTEGER"}}); err == nil || !strings.Contains(err.Error(), "check_cols column \"nope\"") {
		t.Errorf("unknown check column: err = %v", err)
	}
	if _, err := Publish(in, nil, []Column{{"id", "INTEGER"}, {"elt_valid_to", "TIMESTAMP"}}); err == nil || !strings.Contains(err.Error(), "elt_valid_to") {
		t.Errorf("reserved column: err = %v", err)
	}
	in.Config.CheckCols = []string{"all"}
	if _, err := Publish(in, []Column{{"id", "INTEGER"}}, []Column{{"id", "INTEGER"}}); err == nil || !strings.Contains(err.Error(), "is not a snapshot") {
		t.Errorf("target without snapshot columns: err = %v", err)
	}
}

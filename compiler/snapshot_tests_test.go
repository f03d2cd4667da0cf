package compiler

import (
	"strings"
	"testing"

	"github.com/elt-dev/elt/manifest"
)

func TestSnapshotInvariantTests(t *testing.T) {
	m, errs := compileFiles(t, map[string]string{
		"models/base.sql": "select 1 as id, 'eu' as region, 'free' as plan",
		"models/snap.sql": "{{ config(materialized='snapshot', strategy='check', check_cols='all', unique_key=['id', 'region'], hard_deletes='invalidate') }}\nselect * from {{ ref('base') }}",
		"models/ts.sql":   "{{ config(materialized='snapshot', strategy='timestamp', updated_at='u', unique_key='id') }}\nselect 1 as id, now() as u",
	})
	if errs != "" {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		name, attached string
		want           []string
	}{
		{"snapshot_one_current_row_snap", "model.snap", []string{`group by "id", "region"`, "having count(*) > 1", `from "main"."snap"`}},
		{"snapshot_valid_ranges_snap", "model.snap", []string{"not (elt_valid_from < elt_valid_to)"}},
		{"snapshot_no_overlap_snap", "model.snap", []string{`partition by "id", "region" order by elt_valid_from`}},
		{"snapshot_deleted_not_current_snap", "model.snap", []string{`from "main"."base"`, `src."region" is not distinct from snap."region"`}},
		{"snapshot_one_current_row_ts", "model.ts", []string{`group by "id"`}},
	} {
		n := m.Nodes[manifest.TestID(tc.name)]
		if n == nil {
			t.Errorf("no test node %s", tc.name)
			continue
		}
		if n.TestInfo == nil || n.TestInfo.AttachedNode != manifest.NodeID(tc.attached) {
			t.Errorf("%s: test info %+v, want attached to %s", tc.name, n.TestInfo, tc.attached)
		}
		if !contains(idStrings(n.DependsOn), tc.attached) {
			t.Errorf("%s depends on %v, want %s", tc.name, n.DependsOn, tc.attached)
		}
		for _, w := range tc.want {
			if !strings.Contains(n.CompiledSQL, w) {
				t.Errorf("%s: compiled SQL lacks %q:\n%s", tc.name, w, n.CompiledSQL)
			}
		}
	}
	// hard_deletes ignore (the default) has no deletion test.
	if m.Nodes[manifest.TestID("snapshot_deleted_not_current_ts")] != nil {
		t.Error("a snapshot ignoring hard deletes got a deletion test")
	}
}

func TestSnapshotAndCDCConfigErrors(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"{{ config(materialized='snapshot', strategy='timestamp', updated_at='u') }}\nselect 1",
			"models/m.sql:1: snapshot m: no unique_key — set unique_key"},
		{"{{ config(materialized='snapshot', unique_key='id') }}\nselect 1",
			"models/m.sql:1: snapshot m: no strategy — set strategy='timestamp'"},
		{"{{ config(materialized='snapshot', unique_key='id', strategy='timestamp') }}\nselect 1",
			"snapshot m: strategy 'timestamp' needs updated_at"},
		{"{{ config(materialized='snapshot', unique_key='id', strategy='check') }}\nselect 1",
			"snapshot m: strategy 'check' needs check_cols"},
		{"{{ config(materialized='table', delete_condition='d') }}\nselect 1",
			"model m: delete_condition applies only to materialized='incremental' with incremental_strategy='merge'"},
		{"{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', delete_condition='d') }}\nselect 1",
			"model m: delete_condition needs updated_at"},
	} {
		_, errs := compileFiles(t, map[string]string{"models/m.sql": tc.sql})
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%q: errors %q, want %q", tc.sql, errs, tc.want)
		}
	}
}

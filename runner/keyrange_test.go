package runner

import (
	"testing"
)

// TestDeleteInsertKeyRange: delete+insert and insert_overwrite narrow their
// DELETE to the batch's key range, and still replace exactly the matching
// rows: keys inside the range but absent from the batch stay, NULL keys
// match NULL keys, and a batch of NULL keys alone deletes only NULL rows.
// A batch of one key value deletes by that value alone (no join).
func TestDeleteInsertKeyRange(t *testing.T) {
	for _, tc := range []struct {
		name, strategy string
		key            []string
		batches        []string // VALUES rows of (d DATE, k INTEGER, v VARCHAR)
		want           string   // d|k|v ordered
	}{
		{"delete+insert by date", "delete+insert", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-02', 2, 'b'), (DATE '2025-01-03', 3, 'c'), (NULL, 4, 'n')",
				"(DATE '2025-01-01', 10, 'a2'), (DATE '2025-01-03', 30, 'c2')", // 01-02 lies in the range, untouched
			},
			"2025-01-01|10|a2;2025-01-02|2|b;2025-01-03|30|c2;<nil>|4|n;"},
		{"NULL keys match NULL keys", "delete+insert", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (NULL, 4, 'n')",
				"(DATE '2025-01-01', 11, 'a2'), (NULL, 44, 'n2')",
			},
			"2025-01-01|11|a2;<nil>|44|n2;"},
		{"a batch of NULL keys only", "delete+insert", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (NULL, 4, 'n')",
				"(NULL, 5, 'n2')",
			},
			"2025-01-01|1|a;<nil>|5|n2;"},
		{"two key columns", "delete+insert", []string{"k", "d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-02', 1, 'b'), (DATE '2025-01-01', 2, 'c')",
				"(DATE '2025-01-02', 1, 'b2'), (DATE '2025-01-01', 3, 'd')",
			},
			"2025-01-01|1|a;2025-01-01|2|c;2025-01-01|3|d;2025-01-02|1|b2;"},
		{"one key value and NULL keys", "delete+insert", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-02', 2, 'b'), (NULL, 4, 'n')",
				"(DATE '2025-01-02', 20, 'b2'), (NULL, 40, 'n2'), (DATE '2025-01-02', 21, 'b3')",
			},
			"2025-01-01|1|a;2025-01-02|20|b2;2025-01-02|21|b3;<nil>|40|n2;"},
		{"one VARCHAR key value", "delete+insert", []string{"v"},
			[]string{
				"(DATE '2025-01-01', 1, 'x'), (DATE '2025-01-02', 2, 'y'), (DATE '2025-01-03', 3, 'x'), (NULL, 4, NULL)",
				"(DATE '2025-01-05', 5, 'x')",
			},
			"2025-01-02|2|y;2025-01-05|5|x;<nil>|4|<nil>;"},
		{"insert_overwrite of two partitions", "insert_overwrite", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-02', 2, 'b'), (DATE '2025-01-03', 3, 'c'), (DATE '2025-01-01', 4, 'd')",
				"(DATE '2025-01-01', 9, 'z'), (DATE '2025-01-03', 8, 'y'), (DATE '2025-01-01', 7, 'x')",
			},
			"2025-01-01|7|x;2025-01-01|9|z;2025-01-02|2|b;2025-01-03|8|y;"},
		{"two key columns, one value of the first", "delete+insert", []string{"k", "d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-02', 1, 'b')",
				"(DATE '2025-01-02', 1, 'b2')",
			},
			"2025-01-01|1|a;2025-01-02|1|b2;"},
		{"insert_overwrite by partition", "insert_overwrite", []string{"d"},
			[]string{
				"(DATE '2025-01-01', 1, 'a'), (DATE '2025-01-01', 2, 'b'), (DATE '2025-01-05', 3, 'c')",
				"(DATE '2025-01-01', 9, 'z')",
			},
			"2025-01-01|9|z;2025-01-05|3|c;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.sql("CREATE TABLE main.src (d DATE, k INTEGER, v VARCHAR)")
			n := f.model("inc", "incremental", "select * from main.src")
			n.Config.IncrementalStrategy = tc.strategy
			if tc.strategy == "insert_overwrite" {
				n.Config.PartitionBy = tc.key
			} else {
				n.Config.UniqueKey = tc.key
			}
			for _, b := range tc.batches {
				f.sql("DELETE FROM main.src")
				f.sql("INSERT INTO main.src VALUES " + b)
				f.mustRun()
			}
			if got := f.query("SELECT CAST(d AS VARCHAR), k, v FROM main.inc ORDER BY d NULLS LAST, k"); got != tc.want {
				t.Fatalf("inc = %s\nwant  %s", got, tc.want)
			}
		})
	}
}

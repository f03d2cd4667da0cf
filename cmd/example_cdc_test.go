package cmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/elt-dev/elt/warehouse"
)

// checkUsersCDC checks the example's CDC models against the CDC feed read
// here, in Go: dim_users holds every user whose newest change (by
// updated_at, a delete winning a tie) is not a delete, with that change's
// plan; users_snapshot has one current version per such user and,
// after one build, nothing else.
func checkUsersCDC(t *testing.T, dir string, db *warehouse.DB) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "data/raw/users_cdc.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("users_cdc.csv: %v (%d records)", err, len(recs))
	}
	type change struct{ op, plan, at string }
	newest := map[string]change{}
	for _, r := range recs[1:] { // user_id, op, plan, country, updated_at
		c := change{op: r[1], plan: r[2], at: r[4]}
		old, ok := newest[r[0]]
		if !ok || c.at > old.at || (c.at == old.at && c.op == "D") {
			newest[r[0]] = c
		}
	}
	live := map[string]int64{}
	for _, c := range newest {
		if c.op != "D" {
			live[c.plan]++
		}
	}
	ctx := context.Background()
	query := func(q string) string {
		t.Helper()
		r, err := db.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var b bytes.Buffer
		for _, row := range r.Rows {
			fmt.Fprint(&b, row...)
			b.WriteString(";")
		}
		return b.String()
	}
	want := fmt.Sprintf("free%d;pro%d;", live["free"], live["pro"])
	dimQ := "select plan, count(*) from main.dim_users group by plan order by plan"
	if got := query(dimQ); got != want {
		t.Errorf("dim_users plans = %s, want %s", got, want)
	}
	snapQ := "select plan, count(*) from main.users_snapshot where elt_valid_to is null group by plan order by plan"
	if got := query(snapQ); got != want {
		t.Errorf("current users_snapshot plans = %s, want %s", got, want)
	}
	if got := query("select count(*) from main.users_snapshot where elt_valid_to is not null or elt_is_deleted"); got != "0;" {
		t.Errorf("a first snapshot has %s closed or deletion rows, want 0", got)
	}
}

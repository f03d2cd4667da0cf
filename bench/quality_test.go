package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/cmd"
	"github.com/elt-dev/elt/warehouse"
)

// TestQualityCost measures what data quality costs on the example project
// at scale (issue 5): the build with every test against the same build
// without tests (budget: +25%), and stg_purchases with its quarantine
// rules against the same model without them (budget: +10%). It runs only
// with ELT_BENCH=1; ELT_BENCH_EVENTS sets the number of raw events
// (default 10,000,000, half purchases and half logins). For example:
//
//	ELT_BENCH=1 go test ./bench -run TestQualityCost -v -timeout 60m
func TestQualityCost(t *testing.T) {
	if os.Getenv("ELT_BENCH") != "1" {
		t.Skip("set ELT_BENCH=1 to measure the cost of tests and quarantine at scale")
	}
	events := 10_000_000
	if s := os.Getenv("ELT_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("ELT_BENCH_EVENTS: %v", err)
		}
		events = n
	}
	dir := t.TempDir()
	if d := os.Getenv("ELT_BENCH_DIR"); d != "" {
		dir = d // kept after the run, to look at
	}
	copyExample(t, dir)
	start := time.Now()
	writeEvents(t, dir, events)
	t.Logf("generated %d raw events in %v", events, time.Since(start).Round(time.Millisecond))

	elt := func(args ...string) time.Duration {
		t.Helper()
		start := time.Now()
		args = append(args, "--project-dir", dir, "--quiet")
		if code := cmd.MainContext(context.Background(), args, nil, io.Discard, os.Stderr); code != 0 {
			t.Fatalf("elt %s: exit %d", strings.Join(args, " "), code)
		}
		return time.Since(start)
	}
	best := func(n int, args ...string) time.Duration {
		var min time.Duration
		for i := 0; i < n; i++ {
			if d := elt(args...); i == 0 || d < min {
				min = d
			}
		}
		return min
	}
	elt("build") // warm the file cache and create every relation once
	if os.Getenv("ELT_BENCH_SETUP_ONLY") == "1" {
		return
	}
	without := best(2, "build", "--exclude", "resource_type:test")
	with := best(2, "build")
	t.Logf("build without tests %v, with %d tests %v: +%.1f%% (budget 25%%)", without.Round(time.Millisecond),
		countTests(t, dir), with.Round(time.Millisecond), 100*(with.Seconds()/without.Seconds()-1))

	q := best(3, "run", "-s", "stg_purchases")
	yml := filepath.Join(dir, "models/staging/staging.yml")
	data, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "quarantine") || strings.Contains(l, "condition:") {
			continue
		}
		kept = append(kept, l)
	}
	if err := os.WriteFile(yml, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := best(3, "run", "-s", "stg_purchases")
	t.Logf("stg_purchases without quarantine %v, with 3 rules %v: +%.1f%% (budget 10%%)", plain.Round(time.Millisecond),
		q.Round(time.Millisecond), 100*(q.Seconds()/plain.Seconds()-1))
}

// copyExample copies the example project at the repository root into dir.
func copyExample(t *testing.T, dir string) {
	t.Helper()
	root := ".."
	for _, top := range []string{"project.yaml", "models", "macros", "tests", "seeds"} {
		err := filepath.Walk(filepath.Join(root, top), func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if info.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// writeEvents writes n raw events in the example's feed layout: n/2
// purchases and n/2 logins over 90 days for 5,000 users, hive-partitioned
// by ingest day, 2% re-ingested. Values are hashes, so the data is the
// same on every run.
func writeEvents(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(ctx, warehouse.Memory, warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	half := n / 2
	if err := os.MkdirAll(filepath.Join(dir, "data/raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	feed := func(kind, extra string) string {
		return fmt.Sprintf(`COPY (
  with base as (
    select range as id, (hash(range, 'u') %% 5000) + 1 as user_id,
           timestamp '2025-01-01' + to_microseconds((hash(range, 'ts') %% (90 * 86400000000::ubigint))::bigint) as event_ts
    from range(%d)
  ), feed as (
    select '%s' || id as event_id, user_id, event_ts, %s, event_ts + interval 5 minute as ingest_ts, id from base
    union all
    select '%s' || id, user_id, event_ts, %s, event_ts + interval 3 hour, id from base where id %% 50 = 0
  )
  select * exclude (id), cast(ingest_ts as date) as "date" from feed
) TO '%s' (FORMAT csv, HEADER, PARTITION_BY ("date"), OVERWRITE_OR_IGNORE)`,
			half, kind[:1], extra, kind[:1], extra, filepath.Join(dir, "data/raw", kind))
	}
	purchases := feed("purchases", `((hash(id, 'a') % 20000) / 100.0)::decimal(10, 2) as amount, ['DE', 'FR', 'GB', 'NL', 'SE', 'US'][((hash(id, 'c') % 6) + 1)::bigint] as country`)
	logins := feed("logins", `['ios', 'android', 'web'][((hash(id, 'd') % 3) + 1)::bigint] as device`)
	for _, q := range []string{purchases, logins} {
		if err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// countTests counts the test nodes of the project's manifest.
func countTests(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "target/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), `"resource_type": "test"`)
}

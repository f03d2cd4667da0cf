package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/elt-dev/elt/serve"
	"github.com/elt-dev/elt/warehouse"
)

// TestServeLatency measures issue 9's serving target: p99 ≤ 5 ms at 1,000
// requests/s on loopback. A feature table of ELT_BENCH_ROWS rows (default
// 1,000,000: 100,000 users × 10 ten-minute windows) is served by package
// serve; an open-loop load generator sends 1,000 random user_id lookups a
// second (half with latest=true) for ELT_BENCH_SECONDS (default 10)
// seconds, once alone and once while a writer recomputes the newest window
// every second, as elt stream --serve does in the same process. The table
// is stored sorted by (user_id, window_start), as elt keeps a stream
// model's table (it rewrites it sorted by its lookup key from time to
// time): DuckDB's zone maps then prune a lookup to a few row groups, with
// no index. Latency is measured from each request's scheduled start, so a
// stall delays every request queued behind it. It runs only with
// ELT_BENCH=1:
//
//	ELT_BENCH=1 go test ./bench -run TestServeLatency -count 1 -v -timeout 10m
func TestServeLatency(t *testing.T) {
	if os.Getenv("ELT_BENCH") == "" {
		t.Skip("set ELT_BENCH=1 to run the serving benchmark")
	}
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ELT_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	seconds := 10
	if v, err := strconv.Atoi(os.Getenv("ELT_BENCH_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	const windows = 10
	users := max(rows/windows, 1)
	ctx := context.Background()
	db, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "serve.duckdb"), warehouse.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE main.purchases_10m AS
SELECT u AS user_id, TIMESTAMP '2025-01-01' + to_minutes(10 * w) AS window_start,
       (u * 7 + w) %% 13 AS purchases_10m, round((u * w) %% 1000 / 7, 2)::DECIMAL(12,2) AS amount
FROM range(%d) r(u), range(%d) s(w)
ORDER BY user_id, window_start;
CHECKPOINT`, users, windows)); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the feature table: %d users × %d windows in %v", users, windows, time.Since(start).Round(time.Millisecond))

	features := []serve.Feature{{Name: "purchases_10m", Relation: `"main"."purchases_10m"`,
		UniqueKey: []string{"user_id", "window_start"}, EventTime: "window_start"}}
	h := serve.NewHandler(db, features)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serve.ListenAndServe(sctx, 0, h, func(a string) { ready <- a }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}, Timeout: 10 * time.Second}

	load(t, client, addr, users, 1000, time.Second) // warm up connections and statements
	var failed bool
	for _, withWriter := range []bool{false, true} {
		wctx, wstop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var commits int
		var werr error
		if withWriter {
			wg.Add(1)
			go func() {
				defer wg.Done()
				commits, werr = windowWriter(wctx, db, users, windows)
			}()
		}
		st := load(t, client, addr, users, 1000, time.Duration(seconds)*time.Second)
		wstop()
		wg.Wait()
		if werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		label := "without a writer"
		if withWriter {
			label = fmt.Sprintf("while a writer rewrites the newest window's %d rows every second (%d commits)", users, commits)
		}
		t.Logf("serve %s: %d requests at %.0f/s, %d errors; latency p50 %v p95 %v p99 %v max %v (target p99 ≤ 5ms)",
			label, st.n, st.rate, st.errors, st.p50, st.p95, st.p99, st.max)
		if st.errors > 0 {
			t.Errorf("%s: %d requests failed, first: %v", label, st.errors, st.firstErr)
		}
		if st.p99 > 5*time.Millisecond {
			failed = true
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if failed {
		t.Errorf("p99 above 5ms")
	}
}

// loadStats is what one load run measured.
type loadStats struct {
	n, errors          int
	rate               float64
	p50, p95, p99, max time.Duration
	firstErr           error
}

// load sends rate requests a second for d, open loop: request i is
// scheduled at i/rate whatever the answers, and its latency counts from
// that time.
func load(t *testing.T, client *http.Client, addr string, users, rate int, d time.Duration) loadStats {
	t.Helper()
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range n {
		at := begin.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		target := fmt.Sprintf("http://%s/features/purchases_10m?user_id=%d", addr, rand.IntN(users))
		if i%2 == 1 {
			target += "&latest=true"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(target)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("%s: status %d", target, resp.StatusCode)
				}
			}
			lat[i], errs[i] = time.Since(at), err
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	st := loadStats{n: n, rate: float64(n) / elapsed.Seconds()}
	for _, err := range errs {
		if err != nil {
			if st.errors == 0 {
				st.firstErr = err
			}
			st.errors++
		}
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(n-1, int(q*float64(n)))].Round(10 * time.Microsecond) }
	st.p50, st.p95, st.p99, st.max = at(0.50), at(0.95), at(0.99), lat[n-1].Round(10*time.Microsecond)
	return st
}

// windowWriter commits, every second until ctx is done, one transaction
// that recomputes the newest window as a stream micro-batch does: it
// deletes the rows of every window from the newest on and inserts that
// window's rows again, one per user, with new values. The rows go to the
// end of the table in no particular order (a GROUP BY's), out of the
// table's sort order until elt rewrites it. It returns the number of
// commits.
func windowWriter(ctx context.Context, db *warehouse.DB, users, windows int) (int, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	commits := 0
	for batch := 1; ; batch++ {
		select {
		case <-ctx.Done():
			return commits, nil
		case <-tick.C:
		}
		wctx := context.WithoutCancel(ctx)
		err := c.InTx(wctx, func(tx *warehouse.Tx) error {
			return tx.Exec(wctx, fmt.Sprintf(`
DELETE FROM main.purchases_10m WHERE window_start >= TIMESTAMP '2025-01-01' + to_minutes(10 * %[2]d);
INSERT INTO main.purchases_10m
SELECT u, TIMESTAMP '2025-01-01' + to_minutes(10 * %[2]d), (u * 7 + %[3]d) %% 13, 1.00
FROM range(%[1]d) r(u)
ORDER BY hash(u, %[3]d)`, users, windows-1, batch))
		})
		if err != nil {
			return commits, err
		}
		commits++
	}
}

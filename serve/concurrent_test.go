package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// TestReadsWhileWriting serves lookups over HTTP while another goroutine
// commits transactions of two rows each into the same database, and
// refreshes the handler's key index after each, as elt stream does: every
// answer succeeds, holds whole transactions only (an even count), never
// goes back in time, and the last ones see every row.
func TestReadsWhileWriting(t *testing.T) {
	db := openFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := NewHandler(db, features)
	if err := h.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	addr, done := startServer(t, ctx, h)

	const txs = 150
	var written atomic.Int64
	writerErr := make(chan error, 1)
	go func() {
		c, err := db.Conn(ctx)
		if err != nil {
			writerErr <- err
			return
		}
		defer c.Close()
		for i := range txs {
			err := c.InTx(ctx, func(tx *warehouse.Tx) error {
				for j := range 2 {
					if err := tx.Exec(ctx, `INSERT INTO main.purchases_10m VALUES (42, TIMESTAMP '2025-01-01' + to_minutes(?), 1, 1.00, 'DE')`, int64(2*i+j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err == nil {
				err = h.Refresh(ctx, "purchases_10m", time.Date(2025, 1, 1, 0, 2*i, 0, 0, time.UTC))
			}
			if err != nil {
				writerErr <- err
				return
			}
			written.Store(int64(2 * (i + 1)))
		}
		writerErr <- nil
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last, lastWindow := -1, ""
			for requests := 0; ; requests++ {
				finished := written.Load() == 2*txs
				target := "/features/purchases_10m?user_id=42"
				if r%2 == 1 {
					target += "&latest=true"
				}
				var ans struct {
					Count int `json:"count"`
					Rows  []struct {
						WindowStart string `json:"window_start"`
					} `json:"rows"`
				}
				if err := fetch(addr, target, &ans); err != nil {
					errs <- err
					return
				}
				if r%2 == 0 {
					if ans.Count%2 != 0 || ans.Count < last {
						errs <- fmt.Errorf("request %d: %d rows after %d: a partial or vanished transaction", requests, ans.Count, last)
						return
					}
					last = ans.Count
				} else if ans.Count > 0 {
					if ans.Count != 1 || ans.Rows[0].WindowStart < lastWindow {
						errs <- fmt.Errorf("latest went from %s to %+v", lastWindow, ans.Rows)
						return
					}
					lastWindow = ans.Rows[0].WindowStart
				}
				if finished {
					if r%2 == 0 && last != 2*txs {
						errs <- fmt.Errorf("after the writer finished: %d rows, want %d", last, 2*txs)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReadsWhileReplacing serves lookups over HTTP while another
// connection replaces the table 20 times with a copy sorted by its key, as
// elt stream rewrites a stream model's table: the cached statements and
// metadata then name a table that was dropped, yet every answer is a 200
// with the right rows. (DuckDB rebinds a prepared statement whose table
// was replaced; a lookup failing with a catalog or binder error anyway is
// prepared again and retried once.)
func TestReadsWhileReplacing(t *testing.T) {
	db := openFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Enough rows that a replacement takes a while; user 1 keeps its 3.
	if err := db.Exec(ctx, `INSERT INTO main.purchases_10m
		SELECT 1000 + i % 5000, TIMESTAMP '2025-01-01' + to_minutes(i // 5000), i, 1.00, 'DE' FROM range(200000) t(i)`); err != nil {
		t.Fatal(err)
	}
	addr, done := startServer(t, ctx, NewHandler(db, features))

	const replacements = 20
	var replaced atomic.Bool
	writerErr := make(chan error, 1)
	go func() {
		defer replaced.Store(true)
		c, err := db.Conn(ctx)
		if err != nil {
			writerErr <- err
			return
		}
		defer c.Close()
		for range replacements {
			err := c.InTx(ctx, func(tx *warehouse.Tx) error {
				return tx.Exec(ctx, `CREATE OR REPLACE TABLE main.purchases_10m AS
					SELECT * FROM main.purchases_10m ORDER BY user_id, window_start`)
			})
			if err != nil {
				writerErr <- err
				return
			}
		}
		writerErr <- nil
	}()

	var wg sync.WaitGroup
	var requests atomic.Int64
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !replaced.Load() {
				target, want := "/features/purchases_10m?user_id=1", 3
				switch r {
				case 1:
					target, want = "/features/purchases_10m?user_id=1&latest=true", 1
				case 2:
					target, want = "/features/purchases_10m?user_id=1007&user_id=1&limit=20", 20
				}
				var ans struct {
					Count int `json:"count"`
				}
				if err := fetch(addr, target, &ans); err != nil {
					errs <- err
					return
				}
				if ans.Count != want {
					errs <- fmt.Errorf("%s: %d rows, want %d", target, ans.Count, want)
					return
				}
				requests.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d lookups during %d replacements", requests.Load(), replacements)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// fetch GETs target and decodes a 200 answer into v.
func fetch(addr, target string, v any) error {
	resp, err := http.Get("http://" + addr + target)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d: %s", target, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// startServer serves h on a free port until ctx is cancelled; done
// receives ListenAndServe's result.
func startServer(t *testing.T, ctx context.Context, h http.Handler) (addr string, done chan error) {
	t.Helper()
	ready := make(chan string, 1)
	done = make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, 0, h, func(a string) { ready <- a }) }()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	return addr, done
}

// TestGracefulShutdown checks that the server listens on 127.0.0.1 only,
// lets a request in flight finish when its context is cancelled, then
// stops listening and returns nil.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("done"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := startServer(t, ctx, slow)
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("listening on %s, want 127.0.0.1", addr)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("the server returned (%v) before its request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("the request in flight got %q", s)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
	// A port in use is a clear error.
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var p int
	fmt.Sscan(port, &p)
	if err := ListenAndServe(context.Background(), p, slow, nil); err == nil || !strings.Contains(err.Error(), "pick another port with --port") {
		t.Fatalf("listening on a busy port: %v", err)
	}
}

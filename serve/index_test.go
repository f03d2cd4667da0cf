package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// indexFixture holds two indexable features: feat (BIGINT key, 6 ten-minute
// windows per user, NULL keys and event_times, duplicated DECIMAL values)
// and codes (VARCHAR key, DATE event_time listed first in its unique_key,
// so that several keys' rows interleave in the answer).
const indexFixture = `
CREATE TABLE main.feat AS
SELECT CASE WHEN u = 0 THEN NULL ELSE u END AS user_id,
       CASE WHEN u % 23 = 5 AND w = 0 THEN NULL ELSE TIMESTAMP '2025-01-01' + to_minutes(10 * w) END AS window_start,
       (u * 7 + w) % 13 AS n, ((u * w) % 100 / 4)::DECIMAL(10,2) AS amount,
       CASE WHEN u % 3 = 0 THEN 'DE' ELSE 'FR' END AS country
FROM range(200) r(u), range(6) s(w) WHERE (u + w) % 7 <> 3
ORDER BY hash(u, w);
CREATE TABLE main.codes AS
SELECT 'c' || (i % 40)::VARCHAR AS code, DATE '2025-01-01' + (i // 40)::INTEGER AS day, i / 3 AS v
FROM range(400) t(i);
`

var indexFeatures = []Feature{
	{Name: "feat", Relation: `"main"."feat"`, UniqueKey: []string{"user_id", "window_start"}, EventTime: "window_start"},
	{Name: "codes", Relation: `"main"."codes"`, UniqueKey: []string{"day", "code"}, EventTime: "day"},
}

func openIndexFixture(t *testing.T) *warehouse.DB {
	t.Helper()
	db := openFixture(t)
	if err := db.Exec(context.Background(), indexFixture); err != nil {
		t.Fatal(err)
	}
	return db
}

// duckDBOnly returns a handler over db that never uses the index.
func duckDBOnly(db *warehouse.DB, fs []Feature) *Handler {
	h := newHandler(db, fs)
	h.noIndex = true
	return h
}

// randomLookups returns n lookups by key of feat and codes: one or
// several values (some absent, some repeated or spelled 007), with or
// without latest=true and limit.
func randomLookups(r *rand.Rand, n int) []string {
	var out []string
	for range n {
		q := url.Values{}
		name, col := "feat", "user_id"
		if r.IntN(4) == 0 {
			name, col = "codes", "code"
		}
		for range 1 + r.IntN(4) {
			k := r.IntN(210)
			if name == "codes" {
				q.Add(col, fmt.Sprintf("c%d", k%45))
			} else if r.IntN(8) == 0 {
				q.Add(col, fmt.Sprintf("%03d", k))
			} else {
				q.Add(col, fmt.Sprint(k))
			}
		}
		if r.IntN(2) == 0 {
			q.Set("latest", "true")
		}
		if r.IntN(3) == 0 {
			q.Set("limit", fmt.Sprint(1+r.IntN(8)))
		}
		out = append(out, "/features/"+name+"?"+q.Encode())
	}
	return out
}

// TestIndexMatchesDuckDB checks that lookups answered from the key index
// are byte for byte those DuckDB answers, for many random lookups, and
// that the index did answer them.
func TestIndexMatchesDuckDB(t *testing.T) {
	db := openIndexFixture(t)
	ix, slow, sql := newHandler(db, indexFeatures), duckDBOnly(db, indexFeatures), newHandler(db, indexFeatures)
	sql.sqlOnly = true
	r := rand.New(rand.NewPCG(1, 2))
	targets := append(randomLookups(r, 400),
		"/features/feat?user_id=0", "/features/feat?user_id=5&latest=true", "/features/feat?user_id=28",
		"/features/codes?code=c1&code=c2&limit=15", "/features/codes?code=nope")
	for _, target := range targets {
		_, a := get(t, ix, "GET", target)
		_, b := get(t, slow, "GET", target)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: index and DuckDB differ:\n%s\n%s", target, a, b)
		}
		if _, c := get(t, sql, "GET", target); !bytes.Equal(a, c) {
			t.Fatalf("%s: index and DuckDB's ORDER BY differ:\n%s\n%s", target, a, c)
		}
	}
	for _, name := range []string{"feat", "codes"} {
		if st := ix.IndexStats(name); !st.Indexed || st.Rows == 0 {
			t.Errorf("%s: lookups by key did not build the index: %+v", name, st)
		}
	}
	// Proof the answers came from memory: a change without Refresh is not seen.
	if err := db.Exec(context.Background(), `UPDATE main.feat SET n = 999 WHERE user_id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, ix, "GET", "/features/feat?user_id=1"); strings.Contains(string(body), `"n":999`) {
		t.Errorf("the lookup was not answered from the index: %s", body)
	}
	// Other filters go to DuckDB, and see the change.
	if _, body := get(t, ix, "GET", "/features/feat?user_id=1&country=FR"); !strings.Contains(string(body), `"n":999`) {
		t.Errorf("a lookup with another filter was answered from the index: %s", body)
	}
}

// TestIndexEligibility checks which models get an index.
func TestIndexEligibility(t *testing.T) {
	db := openIndexFixture(t)
	h := newHandler(db, append(indexFeatures, features...))
	if err := h.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"feat": true, "codes": true, "purchases_10m": true,
		"users": false, "flat": false, "not_built": false} {
		if got := h.IndexStats(name).Indexed; got != want {
			t.Errorf("%s: indexed %v, want %v", name, got, want)
		}
	}
	if st := h.IndexStats("feat"); st.Keys != 199 {
		t.Errorf("feat: %d keys, want 199 (NULL is not a key)", st.Keys)
	}
}

// newestWindow is feat's newest window.
var newestWindow = time.Date(2025, 1, 1, 0, 50, 0, 0, time.UTC)

// rewriteNewest replaces feat's newest window as a stream batch does: the
// rows of users 1…99 with n = version, except user 10, which leaves the
// window; users 300 and 301 are new.
func rewriteNewest(t *testing.T, db *warehouse.DB, version int) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.InTx(ctx, func(tx *warehouse.Tx) error {
		return tx.Exec(ctx, fmt.Sprintf(`DELETE FROM main.feat WHERE window_start >= TIMESTAMP '2025-01-01 00:50:00';
INSERT INTO main.feat SELECT u, TIMESTAMP '2025-01-01 00:50:00', %d, 1.50, 'NEW'
FROM (SELECT * FROM range(1, 100) UNION ALL SELECT 300 UNION ALL SELECT 301) r(u) WHERE u <> 10`, version))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allKeys is a lookup of every key of feat, old and new, each alone and
// all at once, with and without latest=true.
func allKeys() []string {
	var out, every []string
	for u := range 302 {
		if u > 200 && u < 300 {
			continue
		}
		out = append(out, fmt.Sprintf("/features/feat?user_id=%d", u), fmt.Sprintf("/features/feat?user_id=%d&latest=true", u))
		if u < 120 || u >= 300 {
			every = append(every, fmt.Sprintf("user_id=%d", u))
		}
	}
	return append(out, "/features/feat?limit=10000&"+strings.Join(every, "&"),
		"/features/feat?latest=1&limit=10000&"+strings.Join(every, "&"))
}

func sameAnswers(t *testing.T, a, b *Handler, targets []string) {
	t.Helper()
	for _, target := range targets {
		_, x := get(t, a, "GET", target)
		_, y := get(t, b, "GET", target)
		if !bytes.Equal(x, y) {
			t.Fatalf("%s: index and DuckDB differ:\n%s\n%s", target, x, y)
		}
	}
}

// TestRefresh checks Refresh after a DELETE+INSERT of the newest window:
// new values are served, older windows are as before, a key that left
// the new window loses only that window, new keys appear; and that a
// dropped or altered table drops the index.
func TestRefresh(t *testing.T) {
	db := openIndexFixture(t)
	ctx := context.Background()
	h, slow := newHandler(db, indexFeatures), duckDBOnly(db, indexFeatures)
	if err := h.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	_, before10 := get(t, h, "GET", "/features/feat?user_id=10")
	rewriteNewest(t, db, 77)
	if _, body := get(t, h, "GET", "/features/feat?user_id=300"); !strings.Contains(string(body), `"count":0`) {
		t.Fatalf("before Refresh the index already has user 300: %s", body)
	}
	if err := h.Refresh(ctx, "feat", newestWindow); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, h, slow, allKeys())
	_, after10 := get(t, h, "GET", "/features/feat?user_id=10")
	var b10, a10 struct{ Rows []map[string]any }
	if err := json.Unmarshal(before10, &b10); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(after10, &a10); err != nil {
		t.Fatal(err)
	}
	if len(b10.Rows) < 2 || b10.Rows[len(b10.Rows)-1]["window_start"] != "2025-01-01T00:50:00Z" ||
		!reflect.DeepEqual(a10.Rows, b10.Rows[:len(b10.Rows)-1]) {
		t.Errorf("user 10 should lose its newest window only:\nbefore %s\nafter  %s", before10, after10)
	}
	if _, body := get(t, h, "GET", "/features/feat?user_id=300&latest=true"); !strings.Contains(string(body), `"n":77`) {
		t.Errorf("new key not served: %s", body)
	}
	if st := h.IndexStats("feat"); !st.Indexed {
		t.Fatal("Refresh dropped the index")
	}

	// The same window again (only the recent rows change), then refreshes
	// from an earlier and a later window (the rows are folded back).
	rewriteNewest(t, db, 78)
	for _, from := range []time.Time{newestWindow, newestWindow, newestWindow.Add(-20 * time.Minute),
		newestWindow.Add(-10 * time.Minute), newestWindow} {
		if err := h.Refresh(ctx, "feat", from); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, h, slow, allKeys())
	}
	if _, body := get(t, h, "GET", "/features/feat?user_id=300&latest=true"); !strings.Contains(string(body), `"n":78`) {
		t.Errorf("refreshed key not served: %s", body)
	}
	var n int
	if res, err := db.Query(ctx, `SELECT count(*) FROM main.feat WHERE user_id IS NOT NULL`); err != nil {
		t.Fatal(err)
	} else {
		n = int(res.Rows[0][0].(int64))
	}
	if st := h.IndexStats("feat"); st.Rows != n {
		t.Errorf("the index holds %d rows, the table %d", st.Rows, n)
	}

	// A refresh of everything.
	if err := db.Exec(ctx, `UPDATE main.feat SET n = n + 1000 WHERE window_start < TIMESTAMP '2025-01-01 00:20:00'`); err != nil {
		t.Fatal(err)
	}
	if err := h.Refresh(ctx, "feat", time.Time{}); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, h, slow, allKeys())

	// New columns: the index is dropped, and rebuilt by the next lookup.
	if err := db.Exec(ctx, `ALTER TABLE main.feat ADD COLUMN extra INTEGER DEFAULT 5`); err != nil {
		t.Fatal(err)
	}
	if err := h.Refresh(ctx, "feat", newestWindow); err != nil {
		t.Fatal(err)
	}
	if h.IndexStats("feat").Indexed {
		t.Fatal("the index survived a change of columns")
	}
	if _, body := get(t, h, "GET", "/features/feat?user_id=3"); !strings.Contains(string(body), `"extra":5`) {
		t.Fatalf("after the change of columns: %s", body)
	}
	if !h.IndexStats("feat").Indexed {
		t.Fatal("the lookup did not rebuild the index")
	}
	sameAnswers(t, h, slow, allKeys()[:40])

	// A dropped table: the index goes, lookups answer 503.
	if err := db.Exec(ctx, `DROP TABLE main.feat`); err != nil {
		t.Fatal(err)
	}
	if err := h.Refresh(ctx, "feat", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if h.IndexStats("feat").Indexed {
		t.Fatal("the index survived DROP TABLE")
	}
	if status, body := get(t, h, "GET", "/features/feat?user_id=3"); status != 503 {
		t.Fatalf("after DROP: status %d: %s", status, body)
	}
	if err := h.Refresh(ctx, "nope", time.Time{}); err != nil {
		t.Errorf("Refresh of an unknown model: %v", err)
	}
}

// TestRefreshWhileReading checks that readers never see a refresh half
// applied: while a writer alternates the newest window between two
// versions and refreshes after each commit, every answer of a lookup of
// many keys equals the answer of one version or the other.
func TestRefreshWhileReading(t *testing.T) {
	db := openIndexFixture(t)
	ctx := context.Background()
	h, slow := newHandler(db, indexFeatures), duckDBOnly(db, indexFeatures)
	var keys []string
	for u := range 150 {
		keys = append(keys, fmt.Sprintf("user_id=%d", u))
	}
	targets := []string{"/features/feat?limit=10000&" + strings.Join(keys, "&"),
		"/features/feat?latest=true&limit=10000&" + strings.Join(keys, "&")}
	want := map[string]map[string]bool{}
	for v := range 2 {
		rewriteNewest(t, db, v)
		for _, target := range targets {
			_, body := get(t, slow, "GET", target)
			if want[target] == nil {
				want[target] = map[string]bool{}
			}
			want[target][string(body)] = true
		}
	}
	if err := h.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	const refreshes = 40
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				target := targets[r%2]
				_, body := get(t, h, "GET", target)
				if !want[target][string(body)] {
					errs <- fmt.Errorf("reader %d: an answer of neither version: %.200s", r, body)
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range refreshes {
		rewriteNewest(t, db, i%2)
		if err := h.Refresh(ctx, "feat", newestWindow); err != nil {
			t.Error(err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !h.IndexStats("feat").Indexed {
		t.Error("the index was dropped")
	}
	t.Logf("%d lookups during %d refreshes", reads.Load(), refreshes)
}

// TestAppendDecimal checks the allocation-free DECIMAL rendering against
// duckdb-go's Decimal.String on values of many scales and signs.
func TestAppendDecimal(t *testing.T) {
	db := openFixture(t)
	res, err := db.Query(context.Background(), `
SELECT (i * 1.0)::DECIMAL(4,0), (i / 8)::DECIMAL(10,2), (i * -0.125)::DECIMAL(12,3), (i * 1000.5)::DECIMAL(18,1),
       (i * 10)::DECIMAL(9,4), (i / 1000)::DECIMAL(18,17), 0.000001::DECIMAL(18,6) * i
FROM range(-50, 51) t(i)`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, row := range res.Rows {
		for _, v := range row {
			got, ok := appendDecimal(nil, v)
			if !ok {
				continue
			}
			n++
			if want := v.(fmt.Stringer).String(); string(got) != want {
				t.Errorf("%#v: got %s, want %s", v, got, want)
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d values took the fast path", n)
	}
}

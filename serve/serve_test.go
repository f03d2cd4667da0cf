package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elt-dev/elt/warehouse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is the test database: purchases_10m (a stream-like feature with
// unique_key [user_id, window_start] and event_time window_start, NULLs
// included), users (every JSON-relevant type, unique_key [user_id]),
// flat (no unique_key nor event_time), secret (not a feature) and the
// feature not_built whose table is missing.
const fixture = `
CREATE SCHEMA analytics;
CREATE TABLE main.purchases_10m (user_id BIGINT, window_start TIMESTAMP, purchases_10m BIGINT, amount DECIMAL(10,2), country VARCHAR);
INSERT INTO main.purchases_10m VALUES
  (1, TIMESTAMP '2025-01-01 10:00:00', 3, 12.50, 'DE'),
  (1, TIMESTAMP '2025-01-01 10:10:00', 1, 4.00, 'DE'),
  (1, TIMESTAMP '2025-01-01 09:50:00', 2, 7.25, 'FR'),
  (2, TIMESTAMP '2025-01-01 10:00:00', 5, 100.00, 'O''Brien'),
  (2, NULL, 9, NULL, NULL),
  (3, NULL, 1, 1.00, 'DE'),
  (4, TIMESTAMP '2025-01-02 00:00:00', 7, 70.00, 'US'),
  (NULL, TIMESTAMP '2025-01-01 00:00:00', 0, 0, 'XX');
CREATE TABLE analytics.users (user_id INTEGER, name VARCHAR, signup DATE, score DOUBLE, uid UUID, tags VARCHAR[],
  big HUGEINT, active BOOLEAN, seen TIMESTAMPTZ, attrs STRUCT(plan VARCHAR, seats INTEGER), ratio FLOAT);
INSERT INTO analytics.users VALUES
  (1, 'Ann "the" <admin>', DATE '2024-02-29', 0.5, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ['a', 'b'],
   170141183460469231731687303715884105727, true, TIMESTAMPTZ '2025-01-01 12:00:00+02', {'plan': 'pro', 'seats': 3}, 'NaN'),
  (2, 'Bob', NULL, 'inf', NULL, [], -5, false, NULL, NULL, 1.5);
CREATE TABLE main.flat (k VARCHAR, v INTEGER);
INSERT INTO main.flat VALUES ('b', 2), ('a', 2), ('a', 1);
CREATE TABLE main.secret (s VARCHAR);
INSERT INTO main.secret VALUES ('classified');
`

var features = []Feature{
	{Name: "purchases_10m", Relation: `"main"."purchases_10m"`, UniqueKey: []string{"user_id", "window_start"}, EventTime: "window_start"},
	{Name: "users", Relation: `"analytics"."users"`, UniqueKey: []string{"user_id"}},
	{Name: "flat", Relation: `"main"."flat"`},
	{Name: "not_built", Relation: `"main"."not_built"`, UniqueKey: []string{"id"}},
}

// openFixture returns a database file on t.TempDir holding fixture.
func openFixture(t *testing.T) *warehouse.DB {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "serve.duckdb"), warehouse.Settings{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Exec(ctx, fixture); err != nil {
		t.Fatal(err)
	}
	return db
}

// get sends a request to h and returns the status and body.
func get(t *testing.T, h http.Handler, method, target string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	body := rec.Body.Bytes()
	if !json.Valid(body) {
		t.Errorf("%s %s: body is not valid JSON: %s", method, target, body)
	}
	return rec.Code, body
}

// TestLookups checks each request's status and body against the golden
// file testdata/<name>.json (go test ./serve -update rewrites them).
func TestLookups(t *testing.T) {
	h := NewHandler(openFixture(t), features)
	cases := []struct {
		name, method, target string
		status               int
	}{
		{"health", "GET", "/health", 200},
		{"list", "GET", "/features", 200},
		{"list_params", "GET", "/features?x=1", 400},
		{"by_user", "GET", "/features/purchases_10m?user_id=1", 200},
		{"by_user_latest", "GET", "/features/purchases_10m?user_id=1&latest=true", 200},
		{"in_latest", "GET", "/features/purchases_10m?user_id=2&user_id=1&user_id=2&latest=true", 200},
		{"latest_all", "GET", "/features/purchases_10m?latest=1", 200},
		{"and_filters", "GET", "/features/purchases_10m?user_id=1&country=DE", 200},
		{"quote_in_value", "GET", "/features/purchases_10m?country=O%27Brien", 200},
		{"timestamp_filter", "GET", "/features/purchases_10m?window_start=2025-01-01T10:00:00", 200},
		{"case_insensitive_column", "GET", "/features/purchases_10m?USER_ID=4", 200},
		{"no_match", "GET", "/features/purchases_10m?user_id=999", 200},
		{"limit_truncates", "GET", "/features/purchases_10m?limit=2", 200},
		{"order_all_columns", "GET", "/features/flat", 200},
		{"types", "GET", "/features/users", 200},
		{"types_bool_filter", "GET", "/features/users?active=false", 200},
		{"uuid_filter", "GET", "/features/users?uid=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 200},
		{"date_filter", "GET", "/features/users?signup=2024-02-29", 200},
		{"unknown_model", "GET", "/features/purchase_10m?user_id=1", 404},
		{"unknown_model_far", "GET", "/features/zzzzzzzzzzzz", 404},
		{"unknown_column", "GET", "/features/purchases_10m?usr_id=1", 400},
		{"bad_bigint", "GET", "/features/purchases_10m?user_id=abc", 400},
		{"bad_bigint_fraction", "GET", "/features/purchases_10m?user_id=1.5", 400},
		{"bad_int_range", "GET", "/features/users?user_id=99999999999", 400},
		{"bad_timestamp", "GET", "/features/purchases_10m?window_start=yesterday", 400},
		{"bad_uuid", "GET", "/features/users?uid=not-a-uuid", 400},
		{"bad_decimal", "GET", "/features/purchases_10m?amount=1.2.3", 400},
		{"list_column_filter", "GET", "/features/users?tags=a", 400},
		{"latest_without_event_time", "GET", "/features/users?user_id=1&latest=true", 400},
		{"bad_latest", "GET", "/features/purchases_10m?latest=maybe", 400},
		{"bad_limit", "GET", "/features/purchases_10m?limit=0", 400},
		{"huge_limit", "GET", "/features/purchases_10m?limit=100001", 400},
		{"malformed_query", "GET", "/features/purchases_10m?user_id=%zz", 400},
		{"not_built", "GET", "/features/not_built?id=1", 503},
		{"post", "POST", "/features/purchases_10m?user_id=1", 405},
		{"no_route", "GET", "/nope", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, h, c.method, c.target)
			if status != c.status {
				t.Errorf("%s %s: status %d, want %d; body %s", c.method, c.target, status, c.status, body)
			}
			golden(t, c.name, indent(t, body))
		})
	}
}

// indent pretty-prints a JSON body for a readable golden file.
func indent(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", body, err)
	}
	return append(b.Bytes(), '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v — run go test ./serve -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestFastPathMatchesDuckDB checks that ordering and latest=true done in
// Go answer exactly what DuckDB's ORDER BY and QUALIFY answer.
func TestFastPathMatchesDuckDB(t *testing.T) {
	db := openFixture(t)
	ctx := context.Background()
	// More keys and NULLs than the fixture has; (user_id, window_start)
	// stays unique, as a unique_key is.
	if err := db.Exec(ctx, `INSERT INTO main.purchases_10m
		SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE 10 + i % 7 END,
		       CASE WHEN i % 11 = 0 AND i < 77 THEN NULL ELSE TIMESTAMP '2025-01-01' + to_minutes((i * 37) % 1000) END,
		       i, i / 100, CASE WHEN i % 2 = 0 THEN 'DE' ELSE 'FR' END
		FROM range(300) t(i)`); err != nil {
		t.Fatal(err)
	}
	fast, slow := newHandler(db, features), newHandler(db, features)
	slow.sqlOnly = true
	for _, target := range []string{
		"/features/purchases_10m",
		"/features/purchases_10m?latest=true",
		"/features/purchases_10m?user_id=13",
		"/features/purchases_10m?user_id=13&latest=true",
		"/features/purchases_10m?country=DE&latest=true",
		"/features/purchases_10m?user_id=11&user_id=15&user_id=2&latest=true",
		"/features/flat",
		"/features/flat?v=2",
		"/features/users",
	} {
		_, a := get(t, fast, "GET", target)
		_, b := get(t, slow, "GET", target)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: Go path and DuckDB path differ:\n%s\n%s", target, a, b)
		}
	}
}

// TestSchemaChange checks that a table replaced under the cached metadata
// and statements is served with its new columns, and that a dropped one
// answers 503.
func TestSchemaChange(t *testing.T) {
	db := openFixture(t)
	ctx := context.Background()
	h := NewHandler(db, features)
	if status, body := get(t, h, "GET", "/features/users?user_id=1"); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if err := db.Exec(ctx, `CREATE OR REPLACE TABLE analytics.users AS SELECT user_id::VARCHAR AS user_id, 'new' AS extra FROM analytics.users`); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, h, "GET", "/features/users?extra=new&user_id=1")
	if status != 200 || !strings.Contains(string(body), `"extra":"new"`) || !strings.Contains(string(body), `"user_id":"1"`) {
		t.Fatalf("after the schema change: status %d: %s", status, body)
	}
	if err := db.Exec(ctx, `DROP TABLE analytics.users`); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, h, "GET", "/features/users?user_id=1"); status != 503 || !strings.Contains(string(body), "elt run") {
		t.Fatalf("after DROP: status %d: %s", status, body)
	}
}

// TestRecover checks that a panic is answered as a JSON 500.
func TestRecover(t *testing.T) {
	h := recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	status, body := get(t, h, "GET", "/features")
	if status != 500 || !strings.Contains(string(body), "internal error: boom") {
		t.Fatalf("status %d: %s", status, body)
	}
}

// TestArticle checks the article of the type in "value … is not a(n) …".
func TestArticle(t *testing.T) {
	for _, c := range []struct{ typ, want string }{
		{"INTEGER", "an"}, {"INTERVAL", "an"}, {"ENUM('a')", "an"}, {"BIGINT", "a"}, {"UUID", "a"},
		{"UBIGINT", "a"}, {"DECIMAL(10,2)", "a"}, {"TIMESTAMP WITH TIME ZONE", "a"}, {"", "a"},
	} {
		if got := article(c.typ); got != c.want {
			t.Errorf("article(%q) = %q, want %q", c.typ, got, c.want)
		}
	}
}

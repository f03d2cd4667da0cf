package serve

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestInjection sends SQL injection payloads as values, column names and
// model names, and checks that each is refused or matches nothing, that
// no answer holds a row it should not, and that every table is intact.
func TestInjection(t *testing.T) {
	db := openFixture(t)
	h := NewHandler(db, features)
	payloads := []string{
		`'`, `"`, `;`, `1 OR 1=1`, `1' OR '1'='1`, `' OR 1=1 --`, `'; DROP TABLE main.secret; --`,
		`"; DROP TABLE main.secret; --`, `1; DROP TABLE main.secret`, `1) OR (1=1`, `x' UNION SELECT s, NULL, NULL, NULL, NULL FROM main.secret --`,
		`user_id" = 1 OR "user_id`, `\'; DROP TABLE main.secret; --`, "1\x00' OR 1=1", `$1`, `?`,
	}
	type check struct {
		target string
		status int
		// rows is the number of rows a 200 answer must hold.
		rows int
	}
	var checks []check
	for _, p := range payloads {
		q := url.QueryEscape(p)
		checks = append(checks,
			// A value of a string column is compared as a whole: no match.
			check{"/features/purchases_10m?country=" + q, 200, 0},
			check{"/features/purchases_10m?country=DE&country=" + q, 200, 3},
			// A value of a numeric or timestamp column is refused.
			check{"/features/purchases_10m?user_id=" + q, 400, 0},
			check{"/features/purchases_10m?window_start=" + q, 400, 0},
			// A column name must be one of the table's.
			check{"/features/purchases_10m?" + q + "=1", 400, 0},
			check{"/features/purchases_10m?user_id%3D1%20OR%20" + q + "=1", 400, 0},
			// A model name must be one of the features.
			check{"/features/" + url.PathEscape(p) + "?user_id=1", 404, 0},
			check{"/features/purchases_10m" + url.PathEscape(p) + "?user_id=1", 404, 0},
			check{"/features/" + url.PathEscape(`"main"."secret"`+p), 404, 0},
		)
	}
	for _, c := range checks {
		status, body := get(t, h, "GET", c.target)
		if status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.target, status, c.status, body)
			continue
		}
		if strings.Contains(string(body), "classified") {
			t.Errorf("%s: the answer leaks main.secret: %s", c.target, body)
		}
		if status == 200 {
			var ans struct {
				Count int              `json:"count"`
				Rows  []map[string]any `json:"rows"`
			}
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatal(err)
			}
			if ans.Count != c.rows || len(ans.Rows) != c.rows {
				t.Errorf("%s: %d rows, want %d: %s", c.target, len(ans.Rows), c.rows, body)
			}
			for _, r := range ans.Rows {
				if r["country"] != "DE" {
					t.Errorf("%s: row %v does not match the filter", c.target, r)
				}
			}
		}
	}
	// Every table is still there, whole.
	for rel, want := range map[string]int64{`"main"."secret"`: 1, `"main"."purchases_10m"`: 8, `"analytics"."users"`: 2, `"main"."flat"`: 3} {
		n, err := db.RowCount(context.Background(), rel)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if n != want {
			t.Errorf("%s holds %d rows, want %d", rel, n, want)
		}
	}
	// A value holding quotes matches exactly the row that holds it.
	status, body := get(t, h, "GET", "/features/purchases_10m?country="+url.QueryEscape("O'Brien"))
	if status != 200 || !strings.Contains(string(body), `"count":1`) {
		t.Errorf("O'Brien: status %d: %s", status, body)
	}
}

package cmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/warehouse"
)

// TestExampleProject writes the example project at the repository root into
// a temporary directory with `elt init`, builds it with `elt build` (which
// generates the raw feeds), and checks real table contents against values
// computed here, in Go, from the generated CSV files.
func TestExampleProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole example project")
	}
	ExampleProject = os.DirFS("..")
	defer func() { ExampleProject = nil }()
	dir := filepath.Join(t.TempDir(), "churn")
	ctx := context.Background()

	var out, errw bytes.Buffer
	if code := MainContext(ctx, []string{"init", dir}, nil, &out, &errw); code != 0 {
		t.Fatalf("elt init: exit %d\n%s%s", code, out.String(), errw.String())
	}
	out.Reset()
	start := time.Now()
	code := MainContext(ctx, []string{"build", "--project-dir", dir, "--no-color"}, nil, &out, &errw)
	t.Logf("elt build took %v", time.Since(start))
	if code != 0 {
		t.Fatalf("elt build: exit %d\n%s%s", code, out.String(), errw.String())
	}
	if !strings.Contains(out.String(), "ERROR=0 SKIP=0") {
		t.Fatalf("build summary:\n%s", out.String())
	}

	purchases := readFeed(t, filepath.Join(dir, "data/raw/purchases"), "amount desc")
	logins := readFeed(t, filepath.Join(dir, "data/raw/logins"), "device")
	rates := readRates(t, filepath.Join(dir, "seeds/countries.csv"))
	if len(purchases) == 0 || len(logins) == 0 {
		t.Fatalf("no generated data: %d purchases, %d logins", len(purchases), len(logins))
	}

	db, err := warehouse.Open(ctx, filepath.Join(dir, "target/churn.duckdb"), warehouse.Settings{ProjectDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	scalar := func(q string) any {
		t.Helper()
		r, err := db.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r.Rows[0][0]
	}
	asInt := func(v any) int64 {
		t.Helper()
		n, err := strconv.ParseInt(formatCell(v), 10, 64)
		if err != nil {
			t.Fatalf("not an integer: %v (%T)", v, v)
		}
		return n
	}
	asFloat := func(v any) float64 {
		t.Helper()
		f, err := strconv.ParseFloat(formatCell(v), 64)
		if err != nil {
			t.Fatalf("not a number: %v (%T)", v, v)
		}
		return f
	}

	// Row counts: staging keeps one row per event_id; the seed as written;
	// one feature row per user and day from their first active day to the
	// last day of data.
	counts := map[string]int64{
		"stg_purchases": int64(len(purchases)),
		"stg_logins":    int64(len(logins)),
		"countries":     int64(len(rates)),
		"user_features": featureRows(purchases, logins),
	}
	for _, rel := range sortedKeys(counts) {
		if got := asInt(scalar("select count(*) from main." + rel)); got != counts[rel] {
			t.Errorf("count(%s) = %d, want %d", rel, got, counts[rel])
		}
	}

	// The training set keeps every label, and joins no feature from after
	// its label time.
	labels := asInt(scalar("select count(*) from main.churn_labels"))
	if labels == 0 {
		t.Error("churn_labels is empty")
	}
	if got := asInt(scalar("select count(*) from main.training_set")); got != labels {
		t.Errorf("count(training_set) = %d, want %d (one per label)", got, labels)
	}
	if got := asInt(scalar("select count(*) from main.training_set where feature_ts > label_ts")); got != 0 {
		t.Errorf("%d training rows use features from after their label time", got)
	}

	// The stream model purchases_10m, built from the landing folder, holds
	// every deduplicated purchase once, in the 10-minute window of its
	// event time; the training set's window is the user's latest one that
	// ended by the label time.
	if got, want := asInt(scalar("select sum(purchases_10m) from main.purchases_10m")), int64(len(purchases)); got != want {
		t.Errorf("sum(purchases_10m) = %d, want %d (one per purchase)", got, want)
	}
	windows := map[string]int64{}
	for _, p := range purchases {
		windows[fmt.Sprintf("%s %s", p.user, p.ts.Truncate(10*time.Minute).Format("2006-01-02 15:04"))]++
	}
	res, err := db.Query(ctx, "select user_id, strftime(window_start, '%Y-%m-%d %H:%M'), purchases_10m from main.purchases_10m")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(windows) {
		t.Errorf("purchases_10m has %d windows, want %d", len(res.Rows), len(windows))
	}
	for _, r := range res.Rows {
		if k := fmt.Sprintf("%v %v", r[0], r[1]); windows[k] != asInt(r[2]) {
			t.Errorf("window %s: purchases_10m = %v, want %d", k, r[2], windows[k])
		}
	}
	if got := asInt(scalar(`select count(*) from main.training_set t
		where last_purchase_window_end > label_ts
		   or last_purchase_window_end is distinct from (
		        select max(window_start) + interval 10 minute from main.purchases_10m p
		        where p.user_id = t.user_id and p.window_start + interval 10 minute <= t.label_ts)`)); got != 0 {
		t.Errorf("%d training rows do not hold the latest purchase window ended by their label time", got)
	}

	// A hand-computed feature: the user with the most purchases, on the
	// day of their last purchase — spend over the trailing 7 days in euros
	// (per-day sums rounded to cents, as fct_user_daily does) and logins
	// over the trailing 7 days.
	user, day := busiestUser(purchases)
	var spend float64
	daily := map[string]float64{}
	for _, p := range purchases {
		if p.user == user && inWindow(p.day, day, 7) {
			daily[p.day] += p.amount * rates[p.country]
		}
	}
	for _, v := range daily {
		spend += math.Round(v*100) / 100
	}
	var logins7 int64
	for _, l := range logins {
		if l.user == user && inWindow(l.day, day, 7) {
			logins7++
		}
	}
	q := "select spend_7d, logins_7d from main.user_features where user_id = " + user + " and feature_date = date '" + day + "'"
	r, err := db.Query(ctx, q)
	if err != nil || len(r.Rows) != 1 {
		t.Fatalf("%s: %v, %d rows", q, err, len(r.Rows))
	}
	if got := asFloat(r.Rows[0][0]); math.Abs(got-spend) > 0.005 {
		t.Errorf("user %s on %s: spend_7d = %v, want %.2f", user, day, got, spend)
	}
	if got := asInt(r.Rows[0][1]); got != logins7 {
		t.Errorf("user %s on %s: logins_7d = %d, want %d", user, day, got, logins7)
	}
	t.Logf("user %s on %s: spend_7d %.2f, logins_7d %d", user, day, spend, logins7)
	checkUsersCDC(t, dir, db)
}

// feedRow is one deduplicated event of a raw feed.
type feedRow struct {
	user, day, country string
	amount             float64
	ts                 time.Time // the event time
}

// readFeed reads every CSV under dir (hive-partitioned by ingest date) and
// keeps, per event_id, the row with the latest ingest_ts; ties go to the
// largest amount ("amount desc") or the smallest device ("device"), as the
// staging models order them.
func readFeed(t *testing.T, dir, tieBreak string) map[string]feedRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "date=*", "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CSV files under %s: %v", dir, err)
	}
	type cand struct {
		row    feedRow
		ingest string
		tie    string
	}
	best := map[string]cand{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rd := csv.NewReader(fh)
		header, err := rd.Read()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for {
			rec, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			c := cand{
				row:    feedRow{user: rec[col["user_id"]], day: rec[col["event_ts"]][:10]},
				ingest: rec[col["ingest_ts"]],
			}
			if c.row.ts, err = time.Parse("2006-01-02 15:04:05", rec[col["event_ts"]]); err != nil {
				t.Fatalf("%s: event_ts %q: %v", f, rec[col["event_ts"]], err)
			}
			if i, ok := col["amount"]; ok {
				c.row.amount, _ = strconv.ParseFloat(rec[i], 64)
				c.row.country = rec[col["country"]]
			}
			if i, ok := col["device"]; ok {
				c.tie = rec[i]
			}
			id := rec[col["event_id"]]
			old, seen := best[id]
			better := !seen || c.ingest > old.ingest
			if seen && c.ingest == old.ingest {
				if tieBreak == "amount desc" {
					better = c.row.amount > old.row.amount
				} else {
					better = c.tie < old.tie
				}
			}
			if better {
				best[id] = c
			}
		}
		fh.Close()
	}
	out := make(map[string]feedRow, len(best))
	for id, c := range best {
		out[id] = c.row
	}
	return out
}

// readRates reads country_code → eur_rate from the countries seed.
func readRates(t *testing.T, path string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rates := map[string]float64{}
	for _, r := range recs[1:] {
		rates[r[0]], _ = strconv.ParseFloat(r[4], 64)
	}
	return rates
}

// featureRows counts user_features rows: for every user, each day from
// their first active day to the last active day of anyone.
func featureRows(feeds ...map[string]feedRow) int64 {
	first := map[string]string{}
	last := ""
	for _, feed := range feeds {
		for _, r := range feed {
			if f, ok := first[r.user]; !ok || r.day < f {
				first[r.user] = r.day
			}
			last = max(last, r.day)
		}
	}
	end, _ := time.Parse(time.DateOnly, last)
	var n int64
	for _, f := range first {
		start, _ := time.Parse(time.DateOnly, f)
		n += int64(end.Sub(start).Hours()/24) + 1
	}
	return n
}

// busiestUser returns the user with the most purchases (ties: smallest id
// as text) and the day of their last purchase.
func busiestUser(purchases map[string]feedRow) (user, day string) {
	n := map[string]int{}
	lastDay := map[string]string{}
	for _, p := range purchases {
		n[p.user]++
		lastDay[p.user] = max(lastDay[p.user], p.day)
	}
	users := sortedKeys(n)
	sort.SliceStable(users, func(i, j int) bool { return n[users[i]] > n[users[j]] })
	return users[0], lastDay[users[0]]
}

// inWindow reports whether day lies in the days calendar days ending at end.
func inWindow(day, end string, days int) bool {
	d, _ := time.Parse(time.DateOnly, day)
	e, _ := time.Parse(time.DateOnly, end)
	diff := e.Sub(d).Hours() / 24
	return diff >= 0 && diff < float64(days)
}

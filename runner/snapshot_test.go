package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/manifest"
)

// snapshotModel adds the snapshot "snap" reading main.src with cfg's
// snapshot keys.
func (f *fixture) snapshotModel(cfg manifest.Config) *manifest.Node {
	n := f.model("snap", "snapshot", "select * from main.src")
	n.Config.UniqueKey, n.Config.Strategy, n.Config.UpdatedAt = cfg.UniqueKey, cfg.Strategy, cfg.UpdatedAt
	n.Config.CheckCols, n.Config.HardDeletes = cfg.CheckCols, cfg.HardDeletes
	return n
}

// sql runs statements against the database outside any node.
func (f *fixture) sql(stmts ...string) {
	f.t.Helper()
	for _, s := range stmts {
		if err := f.db.Exec(context.Background(), s); err != nil {
			f.t.Fatalf("%s: %v", s, err)
		}
	}
}

// mustRun runs every node and fails the test unless all succeed.
func (f *fixture) mustRun() {
	f.t.Helper()
	res, _ := f.exec(1)
	for _, n := range res.Nodes {
		if n.Status != StatusSuccess {
			f.t.Fatalf("%s: %s: %s", n.NodeID, n.Status, n.Message)
		}
	}
}

// checkInvariants runs the snapshot's generated invariant tests and fails
// on any returned row.
func (f *fixture) checkInvariants(n *manifest.Node) {
	f.t.Helper()
	for _, g := range compiler.SnapshotInvariants(n.Name, n.Config, n.CompiledSQL) {
		q := strings.ReplaceAll(g.SQL, "{{ model }}", n.Relation)
		if got := f.query(q); got != "" {
			f.t.Errorf("invariant %s fails: %s\n%s", g.Name, got, q)
		}
	}
}

func count(f *fixture, q string) string { return f.query("SELECT count(*) FROM (" + q + ")") }

func TestSnapshotStrategies(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  manifest.Config
		// change updates id 2 so that the strategy sees a change.
		change string
	}{
		{"timestamp", manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp", UpdatedAt: "ts"},
			"UPDATE main.src SET name = 'b2', ts = TIMESTAMP '2025-01-05' WHERE id = 2"},
		{"check_all", manifest.Config{UniqueKey: []string{"id"}, Strategy: "check", CheckCols: []string{"all"}},
			"UPDATE main.src SET name = 'b2' WHERE id = 2"},
		{"check_list_null_to_value", manifest.Config{UniqueKey: []string{"id"}, Strategy: "check", CheckCols: []string{"name"}},
			"UPDATE main.src SET name = NULL WHERE id = 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.sql("CREATE TABLE main.src (id INTEGER, name VARCHAR, ts TIMESTAMP)",
				"INSERT INTO main.src VALUES (1, 'a', '2025-01-01'), (2, 'b', '2025-01-01'), (3, NULL, '2025-01-01')")
			n := f.snapshotModel(tc.cfg)
			f.mustRun()
			f.mustRun() // unchanged input adds nothing
			if got := count(f, "SELECT * FROM main.snap"); got != "3;" {
				t.Fatalf("rows after two unchanged runs = %s, want 3", got)
			}
			f.sql(tc.change)
			f.mustRun()
			f.mustRun()
			// valid_to of the old version is closed at the new one's valid_from.
			got := f.query(`SELECT count(*) FROM main.snap o JOIN main.snap n ON o.id = n.id AND o.elt_valid_to = n.elt_valid_from
WHERE o.id = 2 AND n.elt_valid_to IS NULL`)
			if got != "1;" {
				t.Errorf("old version of id 2 not closed at the new one's start: %s\n%s", got, f.query("SELECT * FROM main.snap ORDER BY id, elt_valid_from"))
			}
			if got := count(f, "SELECT * FROM main.snap"); got != "4;" {
				t.Errorf("rows = %s, want 4", got)
			}
			if got := count(f, "SELECT DISTINCT elt_scd_id FROM main.snap"); got != "4;" {
				t.Errorf("distinct scd ids = %s, want 4", got)
			}
			f.checkInvariants(n)
		})
	}
}

func TestSnapshotHardDeletes(t *testing.T) {
	for _, tc := range []struct {
		hardDeletes string
		// after deleting id 2 and running three times
		rows, current string
		// after id 2 comes back
		rowsBack, currentBack string
	}{
		{"ignore", "2;", "2;", "2;", "2;"},
		{"invalidate", "2;", "1;", "3;", "2;"},
		{"new_record", "3;", "2;", "4;", "2;"},
	} {
		t.Run(tc.hardDeletes, func(t *testing.T) {
			f := newFixture(t)
			f.sql("CREATE TABLE main.src (id INTEGER, name VARCHAR, ts TIMESTAMP)",
				"INSERT INTO main.src VALUES (1, 'a', '2025-01-01'), (2, 'b', '2025-01-01')")
			n := f.snapshotModel(manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp", UpdatedAt: "ts", HardDeletes: tc.hardDeletes})
			f.mustRun()
			f.sql("DELETE FROM main.src WHERE id = 2")
			for range 3 {
				f.mustRun()
			}
			if got := count(f, "SELECT * FROM main.snap"); got != tc.rows {
				t.Errorf("rows after the delete = %s, want %s\n%s", got, tc.rows, f.query("SELECT * FROM main.snap"))
			}
			if got := count(f, "SELECT * FROM main.snap WHERE elt_valid_to IS NULL"); got != tc.current {
				t.Errorf("current rows after the delete = %s, want %s", got, tc.current)
			}
			if tc.hardDeletes == "new_record" {
				// The deletion row is written once and keeps the last known values.
				if got := f.query("SELECT id, name, ts FROM main.snap WHERE elt_is_deleted"); got != "2|b|2025-01-01 00:00:00 +0000 UTC;" {
					t.Errorf("deletion rows = %s", got)
				}
			}
			f.checkInvariants(n)
			f.sql("INSERT INTO main.src VALUES (2, 'b', '2025-01-01')")
			f.mustRun()
			f.mustRun()
			if got := count(f, "SELECT * FROM main.snap"); got != tc.rowsBack {
				t.Errorf("rows after id 2 came back = %s, want %s\n%s", got, tc.rowsBack, f.query("SELECT * FROM main.snap ORDER BY id, elt_valid_from"))
			}
			if got := count(f, "SELECT * FROM main.snap WHERE elt_valid_to IS NULL"); got != tc.currentBack {
				t.Errorf("current rows after id 2 came back = %s, want %s", got, tc.currentBack)
			}
			if tc.hardDeletes != "ignore" {
				if got := f.query("SELECT name FROM main.snap WHERE id = 2 AND elt_valid_to IS NULL"); got != "b;" {
					t.Errorf("current row of id 2 = %q, want b (and not deleted)", got)
				}
			}
			f.checkInvariants(n)
		})
	}
}

func TestSnapshotNullInCompositeKey(t *testing.T) {
	f := newFixture(t)
	f.sql("CREATE TABLE main.src (region VARCHAR, city VARCHAR, pop INTEGER)",
		"INSERT INTO main.src VALUES ('eu', 'paris', 1), ('eu', NULL, 2), (NULL, NULL, 3)")
	n := f.snapshotModel(manifest.Config{UniqueKey: []string{"region", "city"}, Strategy: "check", CheckCols: []string{"pop"}, HardDeletes: "invalidate"})
	for range 3 {
		f.mustRun()
	}
	if got := count(f, "SELECT * FROM main.snap"); got != "3;" {
		t.Fatalf("rows after three unchanged runs = %s, want 3 (NULL keys multiplied)", got)
	}
	f.sql("UPDATE main.src SET pop = 20 WHERE region = 'eu' AND city IS NULL")
	f.mustRun()
	if got := f.query("SELECT pop, elt_valid_to IS NULL FROM main.snap WHERE region = 'eu' AND city IS NULL ORDER BY elt_valid_from"); got != "2|false;20|true;" {
		t.Errorf("versions of (eu, NULL) = %s", got)
	}
	f.checkInvariants(n)
}

func TestSnapshotNewSourceColumnKeepsHistory(t *testing.T) {
	f := newFixture(t)
	f.sql("CREATE TABLE main.src (id INTEGER, name VARCHAR, ts TIMESTAMP)",
		"INSERT INTO main.src VALUES (1, 'a', '2025-01-01')")
	n := f.snapshotModel(manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp", UpdatedAt: "ts"})
	f.mustRun()
	f.sql("UPDATE main.src SET name = 'a2', ts = '2025-01-02'")
	f.mustRun()
	f.sql("ALTER TABLE main.src ADD COLUMN tier VARCHAR", "UPDATE main.src SET tier = 'gold', ts = '2025-01-03'")
	f.mustRun()
	got := f.query("SELECT name, tier, elt_valid_to IS NULL FROM main.snap ORDER BY elt_valid_from")
	if want := "a|<nil>|false;a2|<nil>|false;a2|gold|true;"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	f.checkInvariants(n)
}

func TestSnapshotFailureRollsBack(t *testing.T) {
	f := newFixture(t)
	f.sql("CREATE TABLE main.src (id INTEGER, name VARCHAR, ts TIMESTAMP)",
		"INSERT INTO main.src VALUES (1, 'a', '2025-01-01'), (2, 'b', '2025-01-01')")
	f.snapshotModel(manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp", UpdatedAt: "ts", HardDeletes: "new_record"})
	f.mustRun()
	before := f.query("SELECT * FROM main.snap ORDER BY id")
	f.sql("DELETE FROM main.src WHERE id = 2", "INSERT INTO main.src VALUES (1, 'dup', '2025-02-01')")
	res, _ := f.exec(1)
	r := result(t, res, "model.snap")
	if r.Status != StatusError || !strings.Contains(r.Message, "keys appear more than once") {
		t.Fatalf("status %s, message %q; want an error about duplicate keys", r.Status, r.Message)
	}
	if after := f.query("SELECT * FROM main.snap ORDER BY id"); after != before {
		t.Errorf("a failed snapshot run changed the table:\n%s\nwas\n%s", after, before)
	}
}

func TestSnapshotNullUpdatedAtIsAnError(t *testing.T) {
	f := newFixture(t)
	f.sql("CREATE TABLE main.src (id INTEGER, ts TIMESTAMP)", "INSERT INTO main.src VALUES (1, NULL)")
	f.snapshotModel(manifest.Config{UniqueKey: []string{"id"}, Strategy: "timestamp", UpdatedAt: "ts"})
	res, _ := f.exec(1)
	if r := result(t, res, "model.snap"); r.Status != StatusError || !strings.Contains(r.Message, "NULL updated_at (ts)") {
		t.Fatalf("status %s, message %q; want a NULL updated_at error", r.Status, r.Message)
	}
}

package warehouse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lockHolderEnv makes the test binary act as a second process holding a
// database open: it opens the path in the variable, prints "ready" and
// waits for stdin to close.
const lockHolderEnv = "ELT_WAREHOUSE_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockHolderEnv); path != "" {
		db, err := Open(context.Background(), path, Settings{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		db.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func open(t *testing.T, path string, s Settings) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scalar(t *testing.T, db *DB, q string) any {
	t.Helper()
	r, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r.Rows[0][0]
}

func TestOpenSettings(t *testing.T) {
	proj := t.TempDir()
	db := open(t, "target/nested/x.duckdb", Settings{
		ProjectDir:  proj,
		Threads:     3,
		MemoryLimit: "1GB",
		Settings:    map[string]string{"preserve_insertion_order": "false", "default_order": "desc"},
	})
	if _, err := os.Stat(filepath.Join(proj, "target/nested/x.duckdb")); err != nil {
		t.Fatalf("database file not created under the project: %v", err)
	}
	checks := map[string]any{
		"select current_setting('threads')":                  int64(3),
		"select current_setting('preserve_insertion_order')": false,
		"select lower(current_setting('default_order'))":     "desc",
		"select current_setting('file_search_path')":         proj,
	}
	for q, want := range checks {
		if got := scalar(t, db, q); got != want {
			t.Errorf("%s = %v (%T), want %v", q, got, got, want)
		}
	}
	if got := scalar(t, db, "select current_setting('memory_limit')").(string); !strings.Contains(got, "953") && !strings.Contains(got, "1.0") {
		t.Errorf("memory_limit = %q, want about 1GB", got)
	}
}

func TestRelativeFileResolvesAgainstProject(t *testing.T) {
	proj := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proj, "seeds"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "seeds/a.csv"), []byte("x\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := open(t, Memory, Settings{ProjectDir: proj, Threads: 1})
	// Several connections: the search path must hold on every one.
	for i := 0; i < 3; i++ {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Query(context.Background(), "select sum(x) from read_csv('seeds/a.csv')")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(r.Rows[0][0]) != "3" {
			t.Fatalf("sum = %v", r.Rows[0][0])
		}
	}
}

func TestBadSetting(t *testing.T) {
	_, err := Open(context.Background(), Memory, Settings{Settings: map[string]string{"no_such_setting": "1"}})
	if err == nil || !strings.Contains(err.Error(), "no_such_setting") {
		t.Fatalf("err = %v, want it to name the setting", err)
	}
	_, err = Open(context.Background(), Memory, Settings{Settings: map[string]string{"x; drop": "1"}})
	if err == nil || !strings.Contains(err.Error(), "not a valid DuckDB setting name") {
		t.Fatalf("err = %v", err)
	}
}

func TestLockErrorFromSecondProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target", "churn.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("lock holder said %q, %v", line, err)
	}

	_, err = Open(context.Background(), "target/churn.duckdb", Settings{ProjectDir: dir})
	var le *LockError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v (%T), want *LockError", err, err)
	}
	if le.PID != cmd.Process.Pid {
		t.Errorf("PID = %d, want %d", le.PID, cmd.Process.Pid)
	}
	want := fmt.Sprintf("database target/churn.duckdb is in use by another elt process (PID %d) — wait for it to finish or use another --target", cmd.Process.Pid)
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
}

func TestParseLockError(t *testing.T) {
	tests := []struct {
		msg  string
		pid  int
		lock bool
	}{
		{`could not connect to database: IO Error: Could not set lock on file "/x/churn.duckdb": Conflicting lock is held in /usr/bin/elt (PID 1234) by user me. See also https://duckdb.org/docs/`, 1234, true},
		{`IO Error: Could not set lock on file "/x": Conflicting lock is held in somewhere`, 0, true},
		{`IO Error: Cannot open file "/x": Permission denied`, 0, false},
	}
	for _, tt := range tests {
		le := parseLockError("target/x.duckdb", errors.New(tt.msg))
		if (le != nil) != tt.lock {
			t.Fatalf("%s: lock = %v", tt.msg, le != nil)
		}
		if le != nil && le.PID != tt.pid {
			t.Errorf("%s: pid = %d, want %d", tt.msg, le.PID, tt.pid)
		}
	}
	if got := (&LockError{Path: "t/x.duckdb"}).Error(); got != "database t/x.duckdb is in use by another elt process — wait for it to finish or use another --target" {
		t.Errorf("no-PID message = %q", got)
	}
}

func TestErrorWrapping(t *testing.T) {
	db := open(t, Memory, Settings{})
	err := db.Exec(context.Background(), "select * from nosuch")
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %T %v, want *Error", err, err)
	}
	if we.Kind != "Catalog Error" || !strings.HasPrefix(we.Msg, "Catalog Error: Table with name nosuch does not exist!") {
		t.Errorf("Kind = %q, Msg = %q", we.Kind, we.Msg)
	}
	if strings.Contains(err.Error(), "could not") || strings.Contains(err.Error(), "duckdb") {
		t.Errorf("driver prefix leaked: %q", err)
	}
}

// TestInTxNeverCommitsAfterError checks both DuckDB traps: after an
// execution error COMMIT silently discards, after a binder error COMMIT
// keeps partial work. Either way InTx must leave nothing behind and report
// the error.
func TestInTxNeverCommitsAfterError(t *testing.T) {
	tests := []struct{ name, bad string }{
		{"binder", "select nosuch_column from t0"},
		{"execution", "select cast('x' as integer)"},
		{"parser", "selec 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t, filepath.Join(t.TempDir(), "x.duckdb"), Settings{})
			if err := db.Exec(ctx, "create table t0 as select 1 a"); err != nil {
				t.Fatal(err)
			}
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = c.InTx(ctx, func(tx *Tx) error {
				if err := tx.Exec(ctx, "create table partial as select 1 a"); err != nil {
					return err
				}
				return tx.Exec(ctx, tt.bad)
			})
			c.Close()
			if err == nil {
				t.Fatal("InTx returned nil after a failing statement")
			}
			rels, err := db.Relations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rels[`"main"."partial"`]; ok {
				t.Fatal("partial work was committed")
			}
			// Every pooled connection is usable and outside a transaction.
			for i := 0; i < 3; i++ {
				if err := db.Exec(ctx, "begin; rollback"); err != nil {
					t.Fatalf("connection left in a transaction: %v", err)
				}
			}
		})
	}
}

func TestInTxCommits(t *testing.T) {
	ctx := context.Background()
	db := open(t, Memory, Settings{})
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.InTx(ctx, func(tx *Tx) error {
		if err := tx.Exec(ctx, "create table t as select * from range(5)"); err != nil {
			return err
		}
		n, err := tx.RowCount(ctx, `"main"."t"`)
		if n != 5 {
			return fmt.Errorf("RowCount = %d, %v", n, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.RowCount(ctx, `"main"."t"`); n != 5 || err != nil {
		t.Fatalf("after commit RowCount = %d, %v", n, err)
	}
}

func TestInTxCancelRollsBack(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "x.duckdb"), Settings{Threads: 1})
	ctx, cancel := context.WithCancel(context.Background())
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err = c.InTx(ctx, func(tx *Tx) error {
		if err := tx.Exec(ctx, "create table early as select 1 a"); err != nil {
			return err
		}
		return tx.Exec(ctx, "create table slow as select count(*) from range(10000000000) a, range(10) b")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancellation took %s: the query was not interrupted", d)
	}
	rels, err := db.Relations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 0 {
		t.Fatalf("relations after cancel = %v, want none", rels)
	}
}

func TestIntrospection(t *testing.T) {
	ctx := context.Background()
	db := open(t, Memory, Settings{})
	if err := db.Exec(ctx, `create schema "my schema"; create table "my schema"."t ""q""" (id integer, amount decimal(10,2)); create view main.v as select 1 as one`); err != nil {
		t.Fatal(err)
	}
	rels, err := db.Relations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]RelationInfo{
		`"my schema"."t ""q"""`: {Relation: `"my schema"."t ""q"""`, Schema: "my schema", Name: `t "q"`, Kind: KindTable},
		`"main"."v"`:            {Relation: `"main"."v"`, Schema: "main", Name: "v", Kind: KindView},
	}
	if fmt.Sprint(rels) != fmt.Sprint(want) {
		t.Fatalf("Relations = %v\nwant %v", rels, want)
	}
	cols, err := db.Columns(ctx, `"my schema"."t ""q"""`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cols) != "[{id INTEGER} {amount DECIMAL(10,2)}]" {
		t.Fatalf("Columns = %v", cols)
	}
	res, err := db.Query(ctx, "select 1 as a, 'x' as b union all select 2, null order by a")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Columns, res.Types, res.Rows) != "[a b] [INTEGER VARCHAR] [[1 x] [2 <nil>]]" {
		t.Fatalf("Query = %v %v %v", res.Columns, res.Types, res.Rows)
	}
}

func TestSplitRelation(t *testing.T) {
	tests := []struct {
		in, schema, name string
		ok               bool
	}{
		{`"main"."x"`, "main", "x", true},
		{`"a ""b"""."c.d"`, `a "b"`, "c.d", true},
		{`main.x`, "", "", false},
		{`"main"`, "", "", false},
		{`"main"."x"y`, "", "", false},
		{`read_csv('x')`, "", "", false},
	}
	for _, tt := range tests {
		s, n, ok := SplitRelation(tt.in)
		if s != tt.schema || n != tt.name || ok != tt.ok {
			t.Errorf("SplitRelation(%s) = %q %q %v", tt.in, s, n, ok)
		}
	}
}

// TestInTxFinally checks that Finally statements commit with the work, and
// that a failing one rolls everything back.
func TestInTxFinally(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "x.duckdb"), Settings{})
	if err := db.Exec(ctx, "create table log (x integer not null)"); err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.InTx(ctx, func(tx *Tx) error {
		tx.Finally("insert into log values (1)")
		return tx.Exec(ctx, "create table a as select 1 as x")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.InTx(ctx, func(tx *Tx) error {
		tx.Finally("insert into log values (NULL)")
		return tx.Exec(ctx, "create table b as select 1 as x")
	})
	var we *Error
	if !errors.As(err, &we) || we.Kind != "Constraint Error" {
		t.Fatalf("err = %v, want the Finally statement's Constraint Error", err)
	}
	rels, err := db.Relations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rels[`"main"."b"`]; ok {
		t.Error("work committed although a Finally statement failed")
	}
	if _, ok := rels[`"main"."a"`]; !ok {
		t.Error("first transaction lost")
	}
	if n, _ := db.RowCount(ctx, "log"); n != 1 {
		t.Errorf("log rows = %d, want 1", n)
	}
}

func TestDiagnoseRecoversLine(t *testing.T) {
	ctx := context.Background()
	db := open(t, Memory, Settings{})
	stmt := "create view v as select\n  nope"
	err := db.Exec(ctx, "select 1;\n"+stmt)
	if err == nil || strings.Contains(err.Error(), "LINE") {
		t.Fatalf("batched error = %v; DuckDB changed: it now keeps LINE in batches", err)
	}
	if !BeforeExecution(err) {
		t.Errorf("BeforeExecution(%v) = false", err)
	}
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Diagnose(ctx, []string{"create table t (x int)"}, stmt)
	if err == nil || !strings.Contains(err.Error(), "LINE 2:") {
		t.Fatalf("Diagnose = %v, want a LINE 2 position", err)
	}
	if err := c.Diagnose(ctx, nil, "create table ok as select 1"); err != nil {
		t.Fatalf("Diagnose of a good statement = %v", err)
	}
	rels, _ := db.Relations(ctx)
	if len(rels) != 0 {
		t.Errorf("Diagnose left %v behind", rels)
	}
	if BeforeExecution(errors.New("x")) || BeforeExecution(&Error{Kind: "Conversion Error"}) {
		t.Error("BeforeExecution true for an execution error")
	}
}

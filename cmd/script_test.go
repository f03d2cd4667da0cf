package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/elt-dev/elt/warehouse"
)

// repoRootEnv names the environment variable through which script
// subprocesses learn where the example project lives.
const repoRootEnv = "ELT_TEST_REPO_ROOT"

// TestMain lets scripts run `elt` (this test binary calling Main, in a
// subprocess exactly like the real binary) and `holddb` (a second process
// holding a database's lock).
func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{
		"elt": func() int {
			if root := os.Getenv(repoRootEnv); root != "" {
				ExampleProject = os.DirFS(root)
			}
			return Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		},
		"holddb": holdDB,
	}))
}

// holdDB is `holddb DB READYFILE`: it opens DB, writes READYFILE once the
// lock is held, and keeps the database open until interrupted (at most a
// minute).
func holdDB() int {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: holddb DB READYFILE")
		return 2
	}
	db, err := warehouse.Open(context.Background(), os.Args[1], warehouse.Settings{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	if err := os.WriteFile(os.Args[2], []byte("ready\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
	}
	return 0
}

// TestScripts runs every cmd/testdata/script/*.txtar: small projects driven
// through the elt command line.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv(repoRootEnv, root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": waitFile,
			"exits":    exits,
		},
	})
}

// waitFile is `waitfile FILE`: it waits up to 30 seconds for FILE to exist.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 30s", args[0])
}

// exits is `exits CODE COMMAND ARGS...`: it runs COMMAND like exec and
// fails unless it exits with status CODE; stdout and stderr are kept for
// the assertions that follow.
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

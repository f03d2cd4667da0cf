package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/warehouse"
)

func (a *app) debugCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "debug",
		Short: "Print versions, the project, its target and whether the database opens",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.debug()
		},
	}
}

// debug prints what elt would run with and checks that the project loads
// and the database opens. It exits 1 when a check fails.
func (a *app) debug() error {
	var b strings.Builder
	ok := true
	row := func(k, v string) { fmt.Fprintf(&b, "%-16s %s\n", k+":", v) }
	row("elt version", Version)
	row("DuckDB version", duckdbVersion(a))
	dir, _ := filepath.Abs(a.opts.ProjectDir)
	row("project dir", dir)
	proj, diags := project.Load(a.opts.ProjectDir)
	if diags.HasErrors() || proj == nil {
		row("project", "ERROR")
		for _, d := range diags {
			fmt.Fprintf(&b, "  %s\n", d.Error())
		}
		a.printer().Plain(b.String())
		return &reportedError{code: ExitFailure}
	}
	row("project", proj.Name+" OK")
	s := &session{a: a, proj: proj}
	if err := s.resolveTarget(); err != nil {
		row("target", "ERROR "+err.Error())
		a.printer().Plain(b.String())
		return &reportedError{code: ExitFailure}
	}
	row("target", s.targetName)
	row("database", s.dbPath())
	row("threads", fmt.Sprint(s.threads))
	status := "OK"
	if f := s.dbFile(); f != "" {
		if _, err := os.Stat(f); err != nil {
			status = "OK (not created yet)"
		}
	}
	if status == "OK" {
		db, err := warehouse.Open(a.ctx, s.target.Path, s.settings())
		if err != nil {
			status, ok = "ERROR "+err.Error(), false
		} else if err := db.Exec(a.ctx, "SELECT 1"); err != nil {
			status, ok = "ERROR "+err.Error(), false
			db.Close()
		} else {
			db.Close()
		}
	}
	row("connection", status)
	a.printer().Plain(b.String())
	if !ok {
		return &reportedError{code: ExitFailure}
	}
	return nil
}

// duckdbVersion asks an in-memory DuckDB for its version.
func duckdbVersion(a *app) string {
	db, err := warehouse.Open(a.ctx, warehouse.Memory, warehouse.Settings{})
	if err != nil {
		return "ERROR " + err.Error()
	}
	defer db.Close()
	r, err := db.Query(a.ctx, "SELECT version()")
	if err != nil || len(r.Rows) == 0 {
		return fmt.Sprintf("ERROR %v", err)
	}
	return fmt.Sprint(r.Rows[0][0])
}

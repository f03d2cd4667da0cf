// Command elt is a SQL-centric ELT tool: one binary over embedded DuckDB.
// The repository root is also elt's example project; its files are
// embedded here so `elt init` can write them into a new directory.
package main

import (
	"embed"
	"os"

	"github.com/elt-dev/elt/cmd"
	"github.com/elt-dev/elt/timings"
)

// example holds the example churn project at the repository root.
//
//go:embed project.yaml models macros tests seeds
var example embed.FS

func main() {
	cmd.ExampleProject = example
	cmd.TuneGC()
	stop := timings.CPUProfile()
	code := cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

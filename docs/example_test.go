package docs

import (
	"context"
	"os"
	"testing"

	"github.com/elt-dev/elt/compiler"
	"github.com/elt-dev/elt/lineage"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
	"github.com/elt-dev/elt/warehouse"
)

// exampleLineage compiles the example project at the repository root and
// computes its lineage on an empty in-memory database.
func exampleLineage(t testing.TB) (*manifest.Manifest, *lineage.Lineage) {
	t.Helper()
	proj, diags := project.Load("..")
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	m, diags := compiler.Compile(proj, compiler.Options{Target: "dev", Env: os.LookupEnv, Threads: 1})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	db, err := warehouse.Open(context.Background(), warehouse.Memory, warehouse.Settings{ProjectDir: ".."})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := lineage.Build(context.Background(), db, m)
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

package compiler

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/project"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fixedOptions are the options every golden case starts from.
func fixedOptions() Options {
	return Options{
		InvocationID: "inv-0001",
		RunStartedAt: time.Date(2025, 1, 5, 10, 30, 0, 0, time.UTC),
		Env:          func(string) (string, bool) { return "", false },
		Threads:      2,
	}
}

// caseOptions adjusts the options of the golden cases that need more.
var caseOptions = map[string]func(*Options){
	"vars_env": func(o *Options) {
		o.Vars = map[string]any{"run_date": "2025-02-01"}
		o.Env = func(k string) (string, bool) {
			if k == "ELT_REGION" {
				return "eu", true
			}
			return "", false
		}
	},
	"incremental": func(o *Options) {
		o.Existing = func(rel string) bool {
			return rel == `"main"."inc_exists"` || rel == `"main"."inc_forced_full"`
		}
	},
	"incremental_full_refresh": func(o *Options) {
		o.FullRefresh = true
		o.Existing = func(string) bool { return true }
	},
}

// TestGolden compiles every project under testdata/ and compares the
// compiled nodes and diagnostics with testdata/<case>/golden.txt.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/project.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, pf := range dirs {
		dir := filepath.Dir(pf)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			p, errs := project.Load(dir)
			if errs.HasErrors() {
				t.Fatalf("load: %v", errs.Err())
			}
			opts := fixedOptions()
			if f := caseOptions[name]; f != nil {
				f(&opts)
			}
			m, diags := Compile(p, opts)
			got := render(m, diags)
			golden := filepath.Join(dir, "golden.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("compiled output differs from %s (rerun with -update to accept):\n%s", golden, diffLines(string(want), got))
			}
		})
	}
}

// render prints the diagnostics and every node in a stable text form.
func render(m *manifest.Manifest, diags diag.List) string {
	var b strings.Builder
	b.WriteString("== diagnostics\n")
	for _, d := range diags {
		b.WriteString(d.Error() + "\n")
	}
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		fmt.Fprintf(&b, "\n== %s\n", id)
		fmt.Fprintf(&b, "path: %s\n", n.Path)
		if n.Relation != "" {
			fmt.Fprintf(&b, "relation: %s\n", n.Relation)
		}
		if n.ResourceType != manifest.Source {
			cfg, _ := json.Marshal(n.Config)
			fmt.Fprintf(&b, "config: %s\n", cfg)
		}
		if len(n.DependsOn) > 0 {
			fmt.Fprintf(&b, "depends_on: %v\n", n.DependsOn)
		}
		if n.Description != "" {
			fmt.Fprintf(&b, "description: %s\n", n.Description)
		}
		for _, c := range n.Columns {
			fmt.Fprintf(&b, "column: %s %q tests=%d\n", c.Name, c.Description, len(c.DataTests))
		}
		if n.CompiledSQL != "" {
			fmt.Fprintf(&b, "-- compiled (%s)\n%s\n", n.CompiledPath, strings.TrimRight(n.CompiledSQL, "\n"))
		}
	}
	return b.String()
}

// diffLines shows the first differing line of want and got.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s\n--- full output ---\n%s", i+1, a, b, got)
		}
	}
	return ""
}

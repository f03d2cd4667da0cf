package gen

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readTree returns every file under dir by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProjectDeterministicAndShaped checks that Project writes the same
// bytes twice, spreads models over folders of FolderSize with one schema
// file each, and wires each shape's refs as documented.
func TestProjectDeterministicAndShaped(t *testing.T) {
	tests := []struct {
		shape Shape
		check func(t *testing.T, files map[string]string)
	}{
		{Fan, func(t *testing.T, f map[string]string) {
			if !strings.Contains(f["models/gen/g001/m001500.sql"], "{{ ref('base') }}") {
				t.Errorf("fan model m001500 does not ref base: %q", f["models/gen/g001/m001500.sql"])
			}
		}},
		{Chain, func(t *testing.T, f map[string]string) {
			if !strings.Contains(f["models/gen/g001/m001500.sql"], "{{ ref('m001499') }}") {
				t.Errorf("chain model m001500 does not ref m001499: %q", f["models/gen/g001/m001500.sql"])
			}
		}},
		{Layered, func(t *testing.T, f map[string]string) {
			if !strings.Contains(f["models/gen/g000/m000010.sql"], "{{ ref('base') }}") {
				t.Errorf("first-layer model does not ref base")
			}
			joins := 0
			for p, body := range f {
				if strings.HasPrefix(p, "models/gen/") && strings.Contains(body, "left join") {
					joins++
				}
			}
			if joins == 0 {
				t.Errorf("no layered model refs several parents")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.shape), func(t *testing.T) {
			o := ProjectOptions{Models: 1500, Shape: tt.shape, DocShare: 0.2, Macros: tt.shape == Layered}
			a, b := t.TempDir(), t.TempDir()
			names, err := Project(a, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Project(b, o); err != nil {
				t.Fatal(err)
			}
			fa, fb := readTree(t, a), readTree(t, b)
			if len(fa) != len(fb) {
				t.Fatalf("%d files, then %d", len(fa), len(fb))
			}
			for p, body := range fa {
				if fb[p] != body {
					t.Fatalf("%s differs between two runs", p)
				}
			}
			if len(names) != 1501 || names[0] != "base" || names[1500] != "m001500" {
				t.Errorf("names: %d, first %s, last %s", len(names), names[0], names[len(names)-1])
			}
			for _, p := range []string{"models/gen/g000/m000001.sql", "models/gen/g000/m001000.sql",
				"models/gen/g001/m001001.sql", "models/gen/g000/schema.yml", "models/gen/g001/schema.yml"} {
				if _, ok := fa[p]; !ok {
					t.Errorf("missing %s", p)
				}
			}
			tt.check(t, fa)
		})
	}
}

// TestChurnUsers checks the scale of the example's feeds: 500 users is the
// example itself, and the user count grows linearly with the rows asked.
func TestChurnUsers(t *testing.T) {
	if got := ChurnUsers(churnRowsPer500Users); got != 500 {
		t.Errorf("ChurnUsers(%d) = %d, want 500", churnRowsPer500Users, got)
	}
	if got := ChurnUsers(10_000_000); got < 430_000 || got > 436_000 {
		t.Errorf("ChurnUsers(10M) = %d", got)
	}
	if got := ChurnFeedsArgs(1_000_000); got != "{n_users: 43342}" {
		t.Errorf("ChurnFeedsArgs(1M) = %q", got)
	}
}

// TestProjectRefusesBadOptions checks that every bad option is named, all
// at once, and that nothing is written.
func TestProjectRefusesBadOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	_, err := Project(dir, ProjectOptions{Models: -5, Shape: "star", Materialized: "incremental", BaseRows: -1, DocShare: 2})
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"models is -5", `shape "star" is unknown — use fan, chain or layered`,
		`materialized "incremental" is not supported`, "base rows is -1", "docs share is 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a project was written: %v", err)
	}
	if _, err := Project(dir, ProjectOptions{DocShare: math.NaN()}); err == nil || !strings.Contains(err.Error(), "docs share is NaN") {
		t.Errorf("a NaN docs share: %v", err)
	}
	if _, err := Project(dir, ProjectOptions{Models: 3, Shape: Chain, Materialized: "table"}); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

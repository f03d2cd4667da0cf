package compiler

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteFileIfChanged: the file ends up holding exactly the data, and
// an unchanged file is not written.
func TestWriteFileIfChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.sql")
	steps := []struct{ name, data string }{
		{"create", "select 1\n"},
		{"longer", "select 1, 2, 3\n"},
		{"same length, other bytes", "select 4, 5, 6\n"},
		{"shorter", "select\n"},
		{"empty", ""},
		{"again", "select 7\n"},
	}
	for _, s := range steps {
		st, err := writeFileIfChanged(p, []byte(s.data))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != s.data {
			t.Fatalf("%s: file holds %q (%v), want %q", s.name, got, err, s.data)
		}
		if now, err := statFile(p); err != nil || now != st || st.size != int64(len(s.data)) {
			t.Fatalf("%s: returned stamp %+v, the file's is %+v (%v)", s.name, st, now, err)
		}
	}
	old := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := writeFileIfChanged(p, []byte("select 7\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("an unchanged file was written again (mtime %v, %v)", fi.ModTime(), err)
	}
	if _, err := writeFileIfChanged(filepath.Join(p, "under-a-file.sql"), []byte("x")); err == nil {
		t.Error("writing under a regular file did not fail")
	}
}

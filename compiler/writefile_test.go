package compiler

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
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

// reader returns a function giving a reader of data.
func reader(data []byte) func() io.Reader {
	return func() io.Reader { return bytes.NewReader(data) }
}

func TestHolds(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 KB: several chunks
	lastDiffers := append(append([]byte(nil), big[:len(big)-1]...), 'X')
	firstDiffers := append([]byte("X"), big[1:]...)
	cases := []struct {
		name       string
		file, data []byte // file nil: no file
		want       bool
	}{
		{"missing file", nil, []byte("a"), false},
		{"empty both", []byte{}, []byte{}, true},
		{"same small", []byte("select 1\n"), []byte("select 1\n"), true},
		{"same across chunks", big, big, true},
		{"differs in the last chunk", big, lastDiffers, false},
		{"differs in the first byte", big, firstDiffers, false},
		{"file longer", append(append([]byte(nil), big...), 'x'), big, false},
		{"file shorter", big[:len(big)-1], big, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if c.file != nil {
				if err := os.WriteFile(p, c.file, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := holds(p, len(c.data), bytes.NewReader(c.data)); got != c.want {
				t.Fatalf("holds = %v, want %v", got, c.want)
			}
			// As manifest.Encoded reads: short reads, chunk ends anywhere.
			if got := holds(p, len(c.data), iotest.HalfReader(bytes.NewReader(c.data))); got != c.want {
				t.Fatalf("holds of short reads = %v, want %v", got, c.want)
			}
		})
	}
}

// An identical manifest.json is not rewritten (its modification time
// stays); a different one is replaced whole.
func TestWriteIfChangedKeepsIdenticalFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "manifest.json")
	data := bytes.Repeat([]byte(`{"a":1}`), 100_000)
	if err := writeIfChanged(p, len(data), reader(data)); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if err := writeIfChanged(p, len(data), reader(data)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("identical content rewritten: %v %v", fi.ModTime(), err)
	}
	changed := append(append([]byte(nil), data[:len(data)-1]...), '!')
	if err := writeIfChanged(p, len(changed), reader(changed)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, changed) {
		t.Fatalf("changed content not written (err %v)", err)
	}
}

package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/manifest"
)

// TestCompiledIndex: whatever the index says, writeCompiled leaves every
// compiled file holding its node's SQL — after a hand edit of the same
// size, a changed model, a damaged index or a removed file.
func TestCompiledIndex(t *testing.T) {
	_, m := loadCase(t, "ephemeral")
	dir := t.TempDir()
	plain := filepath.Join(dir, "compiled", "models", "plain.sql")
	want := func() string {
		sql := m.Nodes["model.plain"].CompiledSQL
		if !strings.HasSuffix(sql, "\n") {
			sql += "\n"
		}
		return sql
	}
	check := func(step string) {
		t.Helper()
		if err := writeCompiled(m, dir); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got, err := os.ReadFile(plain)
		if err != nil || string(got) != want() {
			t.Fatalf("%s: plain.sql holds %q (%v), want %q", step, got, err, want())
		}
		idx := readCompiledIndex(dir)
		if e, ok := idx.entries[plain]; !ok || e.stamp.size != int64(len(want())) {
			t.Fatalf("%s: index entry of plain.sql is %+v (%v)", step, e, ok)
		}
	}
	check("first write")
	check("unchanged")

	edited := strings.Replace(want(), "select", "SELECT", 1)
	if len(edited) != len(want()) || edited == want() {
		t.Fatal("the edit must keep the size and change the content")
	}
	if err := os.WriteFile(plain, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	check("after a same-size hand edit")

	m.Nodes["model.plain"].CompiledSQL += "\n-- changed"
	check("after the model changed")

	if err := os.WriteFile(filepath.Join(dir, compiledIndexFile), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("after the index was damaged")

	if err := os.Remove(plain); err != nil {
		t.Fatal(err)
	}
	check("after the file was removed")
}

// TestCompiledIndexRacyEntries: an entry no older than the index file is
// not trusted (the file may have changed within the same timestamp tick);
// an older one is.
func TestCompiledIndexRacyEntries(t *testing.T) {
	_, m := loadCase(t, "ephemeral")
	dir := t.TempDir()
	if err := writeCompiled(m, dir); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "compiled", "models", "plain.sql")
	index := filepath.Join(dir, compiledIndexFile)
	fi, err := os.Stat(plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		indexAt time.Time
		trusted bool
	}{
		{"index written in the file's tick", fi.ModTime(), false},
		{"index written before the file", fi.ModTime().Add(-time.Second), false},
		{"index written after the file", fi.ModTime().Add(time.Second), true},
	} {
		if err := os.Chtimes(index, tt.indexAt, tt.indexAt); err != nil {
			t.Fatal(err)
		}
		if _, ok := readCompiledIndex(dir).trusted(plain); ok != tt.trusted {
			t.Errorf("%s: trusted = %v, want %v", tt.name, ok, tt.trusted)
		}
	}
}

// TestIndexStaleAfterFailedWrite: a writeCompiled that fails part way has
// rewritten some files; when one keeps its size and its mtime (the same
// timestamp tick on a coarse clock, simulated here with Chtimes), the
// next compile must still not trust the index about it.
func TestIndexStaleAfterFailedWrite(t *testing.T) {
	_, m := loadCase(t, "ephemeral")
	dir := t.TempDir()
	plain := filepath.Join(dir, "compiled", "models", "plain.sql")
	base := filepath.Join(dir, "compiled", "models", "base.sql")
	orig := m.Nodes["model.plain"].CompiledSQL

	if err := writeCompiled(m, dir); err != nil { // compile 1: index says plain.sql = orig
		t.Fatal(err)
	}
	fi, _ := os.Stat(plain)
	mtime := fi.ModTime()

	// Compile 2 (other vars, say): plain.sql changes, same size; base.sql
	// cannot be written, so the compile fails and the index is not rewritten.
	m.Nodes["model.plain"].CompiledSQL = strings.Replace(orig, "select", "SELECT", 1)
	os.Remove(base)
	os.MkdirAll(base, 0o755)
	if err := writeCompiled(m, dir); err == nil {
		t.Fatal("expected the write to fail")
	}
	os.Chtimes(plain, time.Now(), mtime) // same tick as compile 1's write
	os.Remove(base)

	// Compile 3: back to the original SQL.
	m.Nodes["model.plain"].CompiledSQL = orig
	if err := writeCompiled(m, dir); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(plain)
	want := orig
	if !strings.HasSuffix(want, "\n") {
		want += "\n"
	}
	if string(got) != want {
		t.Fatalf("plain.sql holds %q, want %q", got, want)
	}
}

// TestWriteCompiledNothing: a project with nothing to compile (no models
// yet) writes no file, not even the index, into a target directory that
// does not exist yet.
func TestWriteCompiledNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "target")
	m := &manifest.Manifest{Nodes: map[manifest.NodeID]*manifest.Node{"source.raw.a": {ID: "source.raw.a"}}}
	if err := writeCompiled(m, dir); err != nil {
		t.Fatalf("writeCompiled: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("writeCompiled created %s (%v)", dir, err)
	}
}

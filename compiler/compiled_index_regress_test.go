package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

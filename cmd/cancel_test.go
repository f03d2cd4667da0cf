package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeProject writes files (path → content) under a new temporary
// directory and returns it.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCancelExits130 cancels a run while a slow model executes: the query
// is interrupted, elt exits 130 promptly, and the model that finished
// before stays published.
func TestCancelExits130(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"project.yaml":  "name: slow\n",
		"models/a.sql":  "{{ config(materialized='table') }}\nselect 1 as id\n",
		"models/zz.sql": "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('a') }}, range(100000000000) t(i) where i % 7 = 3\n",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errw syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- MainContext(ctx, []string{"run", "--project-dir", dir, "--threads", "1"}, nil, &out, &errw)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "START sql table model main.zz") {
		if time.Now().After(deadline) {
			t.Fatalf("zz never started:\n%s%s", out.String(), errw.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != ExitCancelled {
			t.Fatalf("exit %d, want %d\n%s%s", code, ExitCancelled, out.String(), errw.String())
		}
		if d := time.Since(cancelled); d > 5*time.Second {
			t.Errorf("took %v to stop after cancel", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if !strings.Contains(errw.String(), "cancelled") {
		t.Errorf("stderr does not say cancelled: %q", errw.String())
	}
	if !strings.Contains(out.String(), "OK created sql table model main.a") {
		t.Errorf("a was not built first:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

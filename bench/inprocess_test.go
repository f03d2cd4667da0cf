package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/cmd"
)

// writeFiles writes files, slash-separated paths relative to dir mapped to
// their contents, creating their folders.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// eltInProcess returns a function that runs elt in this process on the
// project in dir (--quiet), fails tb unless it exits 0, and returns its
// wall time.
func eltInProcess(tb testing.TB, ctx context.Context, dir string) func(args ...string) time.Duration {
	return func(args ...string) time.Duration {
		tb.Helper()
		start := time.Now()
		var errw strings.Builder
		if code := cmd.MainContext(ctx, append(args, "--project-dir", dir, "--quiet"), nil, io.Discard, &errw); code != 0 {
			tb.Fatalf("elt %v: exit %d\n%s", args, code, errw.String())
		}
		return time.Since(start)
	}
}

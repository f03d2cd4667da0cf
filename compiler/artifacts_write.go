package compiler

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/elt-dev/elt/manifest"
)

// compiledWriters is how many files writeCompiled writes at once. Creating
// a file is file-system bound, not CPU bound, and the file system overlaps
// several creations even on two cores (100,000 files: 5.6 s one at a time,
// 2.7 s four at a time on the benchmark machine).
const compiledWriters = 8

// striped calls fn(i) for every i in [0, n) on up to compiledWriters
// goroutines, each taking every compiledWriters-th index (file system
// calls overlap), and returns when all have returned.
func striped(n int, fn func(i int)) {
	var wg sync.WaitGroup
	workers := min(compiledWriters, n)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}(w)
	}
	wg.Wait()
}

// RestoreCompiled checks, by their sizes, that the compiled SQL files of m
// are in targetDir, as a reused compile left them, and writes them all
// again (unchanged ones are left alone) when one is missing or differs.
func RestoreCompiled(m *manifest.Manifest, targetDir string) error {
	ids := m.IDs()
	var stale atomic.Bool
	striped(len(ids), func(i int) {
		n := m.Nodes[ids[i]]
		if n.CompiledSQL == "" || stale.Load() {
			return
		}
		size := len(n.CompiledSQL)
		if !strings.HasSuffix(n.CompiledSQL, "\n") {
			size++
		}
		if fi, err := os.Stat(compiledFile(n, targetDir)); err != nil || fi.Size() != int64(size) {
			stale.Store(true)
		}
	})
	if !stale.Load() {
		return nil
	}
	return writeCompiled(m, targetDir)
}

// writeChangedCompiled writes the compiled SQL files of the changed nodes
// of m and checks the others by size, as RestoreCompiled does (writing
// every file when one is missing or differs): the rest of m's nodes are
// those of the recorded compile that left compiled/ (a compile removes the
// record before it writes compiled files, so none outlives a compile that
// failed half way; a same-size edit by hand stays until a full compile or
// a change of that node, as after a reused compile). The index of compiled files is
// left alone. Its entries of the files written here no longer match their
// stamps (a file written after the index has a later modification time
// than any entry the index trusts, unless the clock went back), so the
// next writeCompiled checks those files the long way.
func writeChangedCompiled(m *manifest.Manifest, targetDir string, changed []manifest.NodeID) error {
	for _, id := range changed {
		n := m.Nodes[id]
		if n == nil || n.CompiledSQL == "" {
			continue
		}
		sql := n.CompiledSQL
		if !strings.HasSuffix(sql, "\n") {
			sql += "\n"
		}
		p := compiledFile(n, targetDir)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing compiled SQL of %s: %w", id, err)
		}
		if _, err := writeFileIfChanged(p, []byte(sql)); err != nil {
			return fmt.Errorf("writing compiled SQL of %s: %w", id, err)
		}
	}
	return RestoreCompiled(m, targetDir)
}

// compiledFile is where n's compiled SQL is written under targetDir.
func compiledFile(n *manifest.Node, targetDir string) string {
	if rel, ok := strings.CutPrefix(n.CompiledPath, "target/compiled/"); ok {
		return filepath.Join(targetDir, "compiled", filepath.FromSlash(rel))
	}
	return filepath.Join(targetDir, "compiled", filepath.FromSlash(n.Path))
}

// writeCompiled writes targetDir/compiled/<original path> for every node
// with compiled SQL, ending each file in a newline. A file whose content
// is already right is not rewritten. The first error, naming its node, is
// returned after every writer has stopped.
func writeCompiled(m *manifest.Manifest, targetDir string) error {
	type job struct {
		id   manifest.NodeID
		path string
	}
	var jobs []job
	dirs := map[string]bool{}
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		if n.CompiledSQL == "" {
			continue
		}
		p := compiledFile(n, targetDir)
		if d := filepath.Dir(p); !dirs[d] {
			dirs[d] = true
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("writing compiled SQL of %s: %w", id, err)
			}
		}
		jobs = append(jobs, job{id, p})
	}
	if len(jobs) == 0 {
		return nil
	}
	idx := readCompiledIndex(targetDir)
	if err := os.Remove(filepath.Join(targetDir, compiledIndexFile)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing %s: %w", filepath.Join(targetDir, compiledIndexFile), err)
	}
	paths := make([]string, len(jobs))
	entries := make([]indexEntry, len(jobs))
	errs := make([]error, len(jobs))
	striped(len(jobs), func(i int) {
		sql := m.Nodes[jobs[i].id].CompiledSQL
		if !strings.HasSuffix(sql, "\n") {
			sql += "\n"
		}
		p := jobs[i].path
		paths[i] = p
		sum := sha256.Sum256([]byte(sql))
		if e, ok := idx.trusted(p); ok && e.sum == sum {
			if st, err := statFile(p); err == nil && st == e.stamp {
				entries[i] = e
				return
			}
		}
		st, err := writeFileIfChanged(p, []byte(sql))
		if err != nil {
			errs[i] = fmt.Errorf("writing compiled SQL of %s: %w", jobs[i].id, err)
			return
		}
		entries[i] = indexEntry{sum: sum, stamp: st}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := writeCompiledIndex(targetDir, paths, entries); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(targetDir, compiledIndexFile), err)
	}
	return nil
}

package compiler

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/timings"
)

// WriteArtifacts writes targetDir/compiled/<original path> for every node
// with compiled SQL and targetDir/manifest.json (compact, keys sorted), so
// two compiles of an unchanged project write identical files, and returns
// the manifest.json bytes. Stale compiled files of removed nodes are left
// alone.
func WriteArtifacts(m *manifest.Manifest, targetDir string) ([]byte, error) {
	// The manifest is encoded (CPU) while the compiled files are written
	// (file system), which on large projects take about as long.
	type encoded struct {
		data []byte
		err  error
	}
	enc := make(chan encoded, 1)
	go func() {
		done := timings.Start("artifacts: encode manifest")
		data, err := manifest.Encode(m)
		done()
		enc <- encoded{data, err}
	}()
	done := timings.Start("artifacts: compiled files")
	err := writeCompiled(m, targetDir)
	done()
	if err != nil {
		<-enc
		return nil, err
	}
	e := <-enc
	data, err := e.data, e.err
	if err != nil {
		return nil, fmt.Errorf("encoding manifest.json: %w", err)
	}
	if err := os.MkdirAll(targetDir, 0o755); err != nil {
		return nil, err
	}
	return data, writeIfChanged(filepath.Join(targetDir, "manifest.json"), data)
}

// writeIfChanged writes data to p through a temporary file and a rename,
// so a reader never sees half a file; an identical file is not rewritten.
func writeIfChanged(p string, data []byte) error {
	if holds(p, data) {
		return nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// holds reports whether the file p holds exactly data. It reads p a chunk
// at a time and stops at the first difference: a manifest.json differs
// from the last one in its metadata, a few percent into 100 MB at 100,000
// models, and reading it whole cost an allocation of its size.
func holds(p string, data []byte) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(data)) {
		return false
	}
	buf := make([]byte, 256<<10)
	for off := 0; off < len(data); {
		n, err := io.ReadFull(f, buf[:min(len(buf), len(data)-off)])
		if err != nil || !bytes.Equal(buf[:n], data[off:off+n]) {
			return false
		}
		off += n
	}
	return true
}

// ReadManifest reads a manifest.json written by WriteArtifacts, e.g. the
// one in the directory given to --state.
func ReadManifest(path string) (*manifest.Manifest, error) { return manifest.ReadFile(path) }

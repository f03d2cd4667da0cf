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
// what it wrote as manifest.json. Stale compiled files of removed nodes are
// left alone. prior, when not nil, is the manifest.json of a compile m
// shares nodes with, whose members are copied rather than encoded again;
// its File is closed once m is encoded, if it is an io.Closer (the file
// is then replaced, which an open file prevents on some systems). changed,
// when not nil, lists the only nodes whose compiled SQL may differ from
// what compiled/ holds (a patched compile): see writeChangedCompiled.
func WriteArtifacts(m *manifest.Manifest, targetDir string, prior *manifest.Prior, changed []manifest.NodeID) (*manifest.Encoded, error) {
	// The manifest is encoded (CPU) while the compiled files are written
	// (file system), which on large projects take about as long.
	type encoded struct {
		data *manifest.Encoded
		err  error
	}
	enc := make(chan encoded, 1)
	go func() {
		done := timings.Start("artifacts: encode manifest")
		data, err := manifest.EncodeChunks(m, prior)
		done()
		if prior != nil {
			if c, ok := prior.File.(io.Closer); ok {
				c.Close()
			}
			if err == nil {
				timings.Note("artifacts: copied %d of %d node members from the last manifest.json", data.Copied(), len(m.Nodes))
			}
		}
		enc <- encoded{data, err}
	}()
	done := timings.Start("artifacts: compiled files")
	var err error
	if changed != nil {
		err = writeChangedCompiled(m, targetDir, changed)
	} else {
		err = writeCompiled(m, targetDir)
	}
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
	return data, writeIfChanged(filepath.Join(targetDir, "manifest.json"), data.Len(), data.Reader)
}

// writeIfChanged writes the size bytes each data() reads to p through a
// temporary file and a rename, so a reader never sees half a file; an
// identical file is not rewritten.
func writeIfChanged(p string, size int, data func() io.Reader) error {
	if holds(p, size, data()) {
		return nil
	}
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, werr := io.Copy(f, data())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return os.Rename(tmp, p)
}

// holds reports whether the file p holds exactly the size bytes data
// reads. It compares a block at a time and stops at the first difference:
// a manifest.json differs from the last one in its metadata, a few percent
// into 100 MB at 100,000 models, and reading it whole cost an allocation
// of its size.
func holds(p string, size int, data io.Reader) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(size) {
		return false
	}
	const block = 256 << 10
	have, want := make([]byte, block), make([]byte, block)
	for off := 0; off < size; {
		n := min(block, size-off)
		if _, err := io.ReadFull(f, have[:n]); err != nil {
			return false
		}
		if _, err := io.ReadFull(data, want[:n]); err != nil {
			return false
		}
		if !bytes.Equal(have[:n], want[:n]) {
			return false
		}
		off += n
	}
	return true
}

// ReadManifest reads a manifest.json written by WriteArtifacts, e.g. the
// one in the directory given to --state.
func ReadManifest(path string) (*manifest.Manifest, error) { return manifest.ReadFile(path) }

package compiler

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// compiledIndexFile, under the target directory, records what
// writeCompiled last left in compiled/.
const compiledIndexFile = ".compiled-index"

// fileStamp is what a stat tells of a file: its size, modification and
// (where the system gives them) change time in nanoseconds and inode. A
// write changes the change time, which no one can set back, unlike the
// modification time.
type fileStamp struct{ size, mtime, ctime, ino int64 }

// indexEntry is one compiled file as writeCompiled left it: the SHA-256 of
// its content and the stamp the file had right after.
type indexEntry struct {
	sum   [sha256.Size]byte
	stamp fileStamp
}

// compiledIndex maps a compiled file's path to its entry. A file whose
// entry has the hash of the content it should hold, and whose stamp is
// still the file's, holds that content: writeCompiled then checks it with
// one stat instead of opening and reading it. Anything else (no entry,
// another hash, a file touched since) goes the long way, so a stale or
// missing index costs time, never a wrong file. Two rules keep a stamp
// from lying on file systems with coarse timestamps: writeCompiled
// removes the index before it writes any file (a compile that fails half
// way leaves none), and an entry no older than the index file itself is
// not trusted (git's rule for racily clean files).
type compiledIndex struct {
	entries map[string]indexEntry
	written int64 // the index file's modification time
}

// trusted returns the entry of p when it may be trusted.
func (idx compiledIndex) trusted(p string) (indexEntry, bool) {
	e, ok := idx.entries[p]
	return e, ok && e.stamp.mtime < idx.written
}

// readCompiledIndex reads the index of targetDir; a missing or damaged
// one reads as empty.
func readCompiledIndex(targetDir string) compiledIndex {
	p := filepath.Join(targetDir, compiledIndexFile)
	empty := compiledIndex{entries: map[string]indexEntry{}}
	st, err := statFile(p)
	if err != nil {
		return empty
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return empty
	}
	idx := compiledIndex{entries: map[string]indexEntry{}, written: st.mtime}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		// <sha256 hex> <size> <mtime ns> <ctime ns> <inode> <path>
		f := strings.SplitN(string(line), " ", 6)
		if len(f) != 6 || len(f[0]) != 2*sha256.Size {
			return empty
		}
		var e indexEntry
		if _, err := hex.Decode(e.sum[:], []byte(f[0])); err != nil {
			return empty
		}
		for i, dst := range []*int64{&e.stamp.size, &e.stamp.mtime, &e.stamp.ctime, &e.stamp.ino} {
			n, err := strconv.ParseInt(f[1+i], 10, 64)
			if err != nil {
				return empty
			}
			*dst = n
		}
		idx.entries[f[5]] = e
	}
	return idx
}

// writeCompiledIndex replaces the index of targetDir with the entries of
// paths (an entry without a stamp is left out), through a temporary file
// and a rename.
func writeCompiledIndex(targetDir string, paths []string, entries []indexEntry) error {
	p := filepath.Join(targetDir, compiledIndexFile)
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i, path := range paths {
		if entries[i].stamp == (fileStamp{}) || strings.ContainsAny(path, "\n") {
			continue // not written: no entry
		}
		st := entries[i].stamp
		fmt.Fprintf(w, "%x %d %d %d %d %s\n", entries[i].sum, st.size, st.mtime, st.ctime, st.ino, path)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, p)
}

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

// fileStamp is what a stat tells of a file: its size and modification
// time in nanoseconds.
type fileStamp struct{ size, mtime int64 }

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
// missing index costs time, never a wrong file.
type compiledIndex map[string]indexEntry

// readCompiledIndex reads the index of targetDir; a missing or damaged
// one reads as empty.
func readCompiledIndex(targetDir string) compiledIndex {
	data, err := os.ReadFile(filepath.Join(targetDir, compiledIndexFile))
	idx := compiledIndex{}
	if err != nil {
		return idx
	}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		// <sha256 hex> <size> <mtime ns> <path>
		f := strings.SplitN(string(line), " ", 4)
		if len(f) != 4 || len(f[0]) != 2*sha256.Size {
			return compiledIndex{}
		}
		var e indexEntry
		_, err1 := hex.Decode(e.sum[:], []byte(f[0]))
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		mtime, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return compiledIndex{}
		}
		e.stamp = fileStamp{size, mtime}
		idx[f[3]] = e
	}
	return idx
}

// writeCompiledIndex replaces the index of targetDir with idx, through a
// temporary file and a rename.
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
		fmt.Fprintf(w, "%x %d %d %s\n", entries[i].sum, entries[i].stamp.size, entries[i].stamp.mtime, path)
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

//go:build unix

package partialparse

import (
	"io/fs"
	"syscall"
)

// inode is fi's inode number: a file replaced by a rename gets a new one.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

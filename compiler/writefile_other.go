//go:build !linux

package compiler

import (
	"bytes"
	"io"
	"os"
)

// writeFileIfChanged makes the file p hold exactly data, in place: one
// open, and no write when the content is already data. Unlike
// writeIfChanged it is not atomic, which is fine for the compiled SQL that
// people read, and it costs a third of the file-system operations.
func writeFileIfChanged(p string, data []byte) (st fileStamp, err error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fileStamp{}, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			st, err = statFile(p)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{}, err
	}
	if fi.Size() == int64(len(data)) {
		old := make([]byte, len(data))
		if _, err := io.ReadFull(f, old); err == nil && bytes.Equal(old, data) {
			return fileStamp{}, nil
		}
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fileStamp{}, err
	}
	return fileStamp{}, f.Truncate(int64(len(data)))
}

// statFile stats p.
func statFile(p string) (fileStamp, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, nil
}

//go:build linux

package compiler

import (
	"bytes"
	"errors"
	"io/fs"
	"syscall"
)

// writeFileIfChanged makes the file p hold exactly data, in place: one
// open, and no write when the content is already data. Unlike
// writeIfChanged it is not atomic, which is fine for the compiled SQL that
// people read, and it costs a third of the file-system operations. It
// uses raw system calls: os.OpenFile adds four fcntl calls and a poller
// registration per file, a third of writing 10,000 unchanged files.
func writeFileIfChanged(p string, data []byte) (fileStamp, error) {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(p, syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return fileStamp{}, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	st, werr := writeFD(fd, data)
	if cerr := syscall.Close(fd); werr == nil && cerr != nil {
		werr = cerr
	}
	if werr != nil {
		return fileStamp{}, &fs.PathError{Op: "write", Path: p, Err: werr}
	}
	return st, nil
}

// statFile stats p with one system call.
func statFile(p string) (fileStamp, error) {
	var st syscall.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, syscall.Stat(p, &st) }); err != nil {
		return fileStamp{}, err
	}
	return stampOf(&st), nil
}

func stampOf(st *syscall.Stat_t) fileStamp {
	return fileStamp{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), ino: int64(st.Ino)}
}

// writeFD makes the open file fd hold exactly data and returns its stamp.
func writeFD(fd int, data []byte) (fileStamp, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fileStamp{}, err
	}
	if st.Size == int64(len(data)) {
		old := make([]byte, len(data))
		if n, err := preadFull(fd, old); err == nil && n == len(data) && bytes.Equal(old, data) {
			return stampOf(&st), nil
		}
	}
	for off := 0; off < len(data); {
		n, err := retryEINTR(func() (int, error) { return syscall.Pwrite(fd, data[off:], int64(off)) })
		if err != nil {
			return fileStamp{}, err
		}
		off += n
	}
	// A shorter or new file now ends where data does; a longer one, or
	// one another process wrote meanwhile, is cut there.
	for try := 0; ; try++ {
		if err := syscall.Fstat(fd, &st); err != nil {
			return fileStamp{}, err
		}
		if st.Size == int64(len(data)) {
			return stampOf(&st), nil
		}
		if try == 3 {
			return fileStamp{}, errors.New("another process keeps writing the file")
		}
		if _, err := retryEINTR(func() (int, error) { return 0, syscall.Ftruncate(fd, int64(len(data))) }); err != nil {
			return fileStamp{}, err
		}
	}
}

// preadFull reads len(buf) bytes from the start of fd, fewer at its end.
func preadFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := retryEINTR(func() (int, error) { return syscall.Pread(fd, buf[n:], int64(n)) })
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// retryEINTR calls fn again while it fails with EINTR.
func retryEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

package stream

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// Landing folder defaults.
const (
	// DefaultSettle is how long a landed file must stay unchanged before
	// it is read.
	DefaultSettle = 500 * time.Millisecond
	// DefaultMaxFiles bounds the files of one batch.
	DefaultMaxFiles = 1000
	// unterminatedGrace is how long a JSON or CSV file whose last line has
	// no newline is taken for one still being written.
	unterminatedGrace = time.Minute
)

// LandingConfig configures a landing-folder stream source.
type LandingConfig struct {
	// ProjectDir is the directory Glob is relative to.
	ProjectDir string
	// Glob selects the landed files, relative to ProjectDir ("**" allowed).
	Glob string
	// Format is "json" (newline-delimited), "csv" or "parquet".
	Format string
	// Settle is how long a file's size and modification time must stay
	// unchanged before it is read; DefaultSettle when zero, none when
	// negative (for writers that rename finished files into place).
	Settle time.Duration
	// MaxFiles bounds the files of one batch; DefaultMaxFiles when zero.
	MaxFiles int
	// Now returns the current time; time.Now when nil (tests set it).
	Now func() time.Time
}

// landing is a Reader over a landing folder. A file is read once: when it
// is complete — its size and modification time unchanged for Settle, and a
// JSON or CSV file ending in a newline (a writer appending lines has
// usually stopped mid-line) — and not yet committed. Files are handed out
// in arrival order: modification time, then name. A writer that renames a
// finished file into place (write x.jsonl.tmp, rename to x.jsonl) never
// exposes a partial file; names starting with "." or ending in .tmp,
// .part or .inprogress are never read. A landed file is immutable: one that
// changes after it was read is not read again.
type landing struct {
	cfg LandingConfig
	// committed is each read file's size when it was read.
	committed map[string]int64
	// checked is when committed files were last looked at again.
	checked time.Time
	// pending is the batch handed out and not yet committed or aborted.
	pending map[string]bool
	// seen is each candidate's size and modification time at the last
	// look, so a file still growing is recognised even when its
	// modification time is old.
	seen map[string]fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// NewLanding returns a Reader over the landing folder cfg names, which
// skips the files of committed (positions keyed by relative path).
func NewLanding(cfg LandingConfig, committed []Position) (Reader, error) {
	if cfg.Glob == "" {
		return nil, fmt.Errorf("landing folder: empty path glob — set stream.path")
	}
	if !doublestar.ValidatePattern(filepath.ToSlash(cfg.Glob)) {
		return nil, fmt.Errorf("landing folder: %q is not a valid glob — check stream.path", cfg.Glob)
	}
	switch {
	case cfg.Settle == 0:
		cfg.Settle = DefaultSettle
	case cfg.Settle < 0:
		cfg.Settle = 0
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &landing{cfg: cfg, committed: map[string]int64{}, pending: map[string]bool{}, seen: map[string]fileStamp{}}
	for _, p := range committed {
		if !strings.HasPrefix(p.Key, "kafka:") {
			l.committed[p.Key] = p.Offset
		}
	}
	return l, nil
}

type candidate struct {
	rel   string
	abs   string
	size  int64
	mtime time.Time
}

// Next lists the folder and hands out the complete files not yet read.
func (l *landing) Next(ctx context.Context) (*Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pattern := filepath.ToSlash(l.cfg.Glob)
	matches, err := doublestar.Glob(os.DirFS(l.cfg.ProjectDir), pattern, doublestar.WithFilesOnly())
	if err != nil {
		return nil, fmt.Errorf("landing folder %s: %w", l.cfg.Glob, err)
	}
	now := l.cfg.Now()
	// Read files are looked at again now and then (a stat each): a file
	// that changed after it was read would otherwise be lost silently.
	recheck := now.Sub(l.checked) >= committedRecheck
	if recheck {
		l.checked = now
	}
	var ready []candidate
	live := make(map[string]bool, len(matches))
	for _, rel := range matches {
		if size, done := l.committed[rel]; done {
			if recheck {
				if err := l.unchanged(rel, size); err != nil {
					return nil, err
				}
			}
			continue
		}
		if l.pending[rel] || skippedName(rel) {
			continue
		}
		if strings.ContainsAny(rel, "*?[") {
			// DuckDB reads a file list as globs: such a name could read
			// other files too, counting their events twice.
			return nil, fmt.Errorf("landing file %s has a glob character (* ? [) in its name, which DuckDB would expand to other files — rename it (it is not read until then)", rel)
		}
		live[rel] = true
		abs := filepath.Join(l.cfg.ProjectDir, filepath.FromSlash(rel))
		fi, err := os.Stat(abs)
		if err != nil {
			continue // removed or renamed since the listing
		}
		c := candidate{rel: rel, abs: abs, size: fi.Size(), mtime: fi.ModTime()}
		if l.complete(c, now) {
			ready = append(ready, c)
		}
	}
	for rel := range l.seen {
		if !live[rel] {
			delete(l.seen, rel)
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].mtime.Equal(ready[j].mtime) {
			return ready[i].mtime.Before(ready[j].mtime)
		}
		return ready[i].rel < ready[j].rel
	})
	if len(ready) > l.cfg.MaxFiles {
		ready = ready[:l.cfg.MaxFiles]
	}
	b := &Batch{Format: l.cfg.Format, Events: -1}
	for _, c := range ready {
		b.Files = append(b.Files, c.abs)
		b.Positions = append(b.Positions, Position{Key: c.rel, Offset: c.size})
		if b.Oldest.IsZero() || c.mtime.Before(b.Oldest) {
			b.Oldest = c.mtime
		}
		l.pending[c.rel] = true
		delete(l.seen, c.rel)
	}
	return b, nil
}

// complete reports whether c can be read: not empty, its modification
// time at least Settle old, its size and modification time the same as at
// this reader's previous look (a copy that keeps an old mtime still grows),
// and, for line formats, ending in a newline unless it has been left so
// for a minute.
func (l *landing) complete(c candidate, now time.Time) bool {
	st, seenBefore := l.seen[c.rel]
	changed := seenBefore && (st.size != c.size || !st.mtime.Equal(c.mtime))
	l.seen[c.rel] = fileStamp{size: c.size, mtime: c.mtime}
	if changed || c.size == 0 {
		return false
	}
	age := now.Sub(c.mtime)
	if age < l.cfg.Settle {
		return false
	}
	if l.cfg.Format == "json" || l.cfg.Format == "csv" {
		if age < unterminatedGrace && !endsWithNewline(c.abs) {
			return false
		}
	}
	return true
}

// skippedName reports names that by convention are still being written.
func skippedName(rel string) bool {
	base := rel[strings.LastIndexByte(rel, '/')+1:]
	if strings.HasPrefix(base, ".") {
		return true
	}
	for _, suf := range []string{".tmp", ".part", ".inprogress", ".crdownload"} {
		if strings.HasSuffix(base, suf) {
			return true
		}
	}
	return false
}

// endsWithNewline reports whether the file's last byte is '\n'.
func endsWithNewline(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.Seek(-1, io.SeekEnd); err != nil {
		return false
	}
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return b[0] == '\n'
}

// Commit marks b's files read for good.
func (l *landing) Commit(b *Batch) {
	if b == nil {
		return
	}
	for _, p := range b.Positions {
		l.committed[p.Key] = p.Offset
		delete(l.pending, p.Key)
	}
}

// committedRecheck is how often read files are checked for changes.
const committedRecheck = 30 * time.Second

// unchanged returns an error when the read file rel no longer has the size
// it was read at: it was appended to or replaced, and elt never reads a
// file twice.
func (l *landing) unchanged(rel string, size int64) error {
	fi, err := os.Stat(filepath.Join(l.cfg.ProjectDir, filepath.FromSlash(rel)))
	if err != nil || fi.Size() == size {
		return nil // gone, or as read
	}
	return fmt.Errorf("landing file %s changed after it was read (%d bytes then, %d now) — landed files must not change: "+
		"write new events to a new file; what the file holds beyond what was read is not read, so move it to a new name to have it read", rel, size, fi.Size())
}

// Abort makes b's files due again.
func (l *landing) Abort(b *Batch) {
	if b == nil {
		return
	}
	for _, p := range b.Positions {
		delete(l.pending, p.Key)
	}
}

// Close does nothing: a landing folder holds no resources.
func (l *landing) Close() error { return nil }

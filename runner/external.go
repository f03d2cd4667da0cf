package runner

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/materialize"
	"github.com/elt-dev/elt/warehouse"
)

// externalDirs returns the absolute location of external model n and the
// directory its files are written into first (a sibling of the location,
// so the final moves are renames on one file system).
func (r *run) externalDirs(n *manifest.Node, name string) (location, writeDir string) {
	loc := filepath.FromSlash(materialize.ExternalLocation(n.Config.Location, name))
	if !filepath.IsAbs(loc) {
		dir := r.opts.ProjectDir
		if dir == "" {
			dir = r.m.Metadata.ProjectDir
		}
		loc = filepath.Join(dir, loc)
	}
	if abs, err := filepath.Abs(loc); err == nil {
		loc = abs
	}
	return loc, loc + ".__elt_tmp"
}

// runExternal writes an external model's files and publishes its view:
// COPY into the write directory (emptied first), move the files under the
// location — all of them, replacing the location, on a full build; only
// the written partitions, each replacing its partition's files, on an
// incremental one — then create the view and count its rows. A partition
// holding more than one file after the COPY is an error: every partition
// is exactly one file, so a rerun overwrites and never adds.
//
// Files are not transactional: a crash after the moves and before COMMIT
// leaves new files under the old state. Files are deterministic, so the
// next run writes the same bytes again and the two agree once more.
func (r *run) runExternal(ctx context.Context, tx *warehouse.Tx, plan materialize.Plan) (int64, error) {
	ext := plan.External
	if err := os.RemoveAll(ext.WriteDir); err != nil {
		return -1, fmt.Errorf("external: clear %s: %w", ext.WriteDir, err)
	}
	if err := os.MkdirAll(ext.WriteDir, 0o755); err != nil {
		return -1, fmt.Errorf("external: create %s: %w", ext.WriteDir, err)
	}
	defer os.RemoveAll(ext.WriteDir)
	if err := tx.ExecAlone(ctx, plan.Build[0]); err != nil {
		return -1, err
	}
	files, err := writtenFiles(ext.WriteDir)
	if err != nil {
		return -1, err
	}
	if err := checkOneFilePerDir(files); err != nil {
		return -1, err
	}
	if err := failpoint("external-before-move"); err != nil {
		return -1, err
	}
	if ext.Full {
		if err := replaceDir(ext.WriteDir, ext.Location); err != nil {
			return -1, err
		}
	} else if err := replacePartitions(ext.WriteDir, ext.Location, files); err != nil {
		return -1, err
	}
	return countAfter(ctx, tx, plan.Publish, plan.Target)
}

// writtenFiles lists the files under dir, relative and slash-separated,
// sorted.
func writtenFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// checkOneFilePerDir fails when a directory holds more than one file.
func checkOneFilePerDir(files []string) error {
	seen := map[string]string{}
	for _, f := range files {
		d := filepath.Dir(f)
		if prev, ok := seen[d]; ok {
			return fmt.Errorf("external: partition %s got two files (%s, %s) — lower the number of partitions written at once", d, prev, f)
		}
		seen[d] = f
	}
	return nil
}

// replaceDir makes from the new content of to: to is renamed aside, from
// renamed to to, and the old content removed.
func replaceDir(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("external: %w", err)
	}
	old := to + ".__elt_old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("external: %w", err)
	}
	if err := os.Rename(to, old); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("external: move %s aside: %w", to, err)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("external: publish %s: %w", to, err)
	}
	return os.RemoveAll(old)
}

// replacePartitions moves each written file to the same relative path
// under location, first removing every other file of that partition
// directory, so each partition written is replaced whole and the others
// are untouched.
func replacePartitions(from, location string, files []string) error {
	for _, f := range files {
		dst := filepath.Join(location, filepath.FromSlash(f))
		dir := filepath.Dir(dst)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("external: %w", err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("external: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() && e.Name() != filepath.Base(dst) && !strings.HasPrefix(e.Name(), ".") {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return fmt.Errorf("external: %w", err)
				}
			}
		}
		if err := os.Rename(filepath.Join(from, filepath.FromSlash(f)), dst); err != nil {
			return fmt.Errorf("external: publish %s: %w", dst, err)
		}
	}
	return nil
}

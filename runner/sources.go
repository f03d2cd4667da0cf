package runner

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/elt-dev/elt/manifest"
)

// sourceChecker checks, once per source per run, that a file source's glob
// matches at least one file, so a model reading it fails with a message
// naming the source and its YAML position instead of DuckDB's.
type sourceChecker struct {
	m   *manifest.Manifest
	dir string
	mu  sync.Mutex
	// done caches the verdict (nil = files found) per source id.
	done map[manifest.NodeID]error
}

func newSourceChecker(m *manifest.Manifest, projectDir string) *sourceChecker {
	if projectDir == "" {
		projectDir = m.Metadata.ProjectDir
	}
	return &sourceChecker{m: m, dir: projectDir, done: map[manifest.NodeID]error{}}
}

// check returns an error for the first file source model n reads, directly
// or through ephemeral models, whose glob matches no file.
func (s *sourceChecker) check(n *manifest.Node) error {
	seen := map[manifest.NodeID]bool{}
	var walk func(n *manifest.Node) error
	walk = func(n *manifest.Node) error {
		for _, dep := range n.DependsOn {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			d := s.m.Nodes[dep]
			if d == nil {
				continue
			}
			switch {
			case d.ResourceType == manifest.Source && d.Source != nil && d.Source.Path != "":
				if err := s.source(d); err != nil {
					return err
				}
			case d.ResourceType == manifest.Model && d.Config.Materialized == "ephemeral":
				if err := walk(d); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(n)
}

// source checks one file source, caching the verdict.
func (s *sourceChecker) source(d *manifest.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err, ok := s.done[d.ID]; ok {
		return err
	}
	err := s.glob(d)
	s.done[d.ID] = err
	return err
}

func (s *sourceChecker) glob(d *manifest.Node) error {
	pattern := d.Source.Path
	full := filepath.FromSlash(pattern)
	if !filepath.IsAbs(full) && s.dir != "" {
		full = filepath.Join(s.dir, full)
	}
	name := d.Source.SourceName + "." + d.Source.TableName
	where := ""
	if p := d.Pos.String(); p != "" {
		where = " (" + p + ")"
	}
	matches, err := doublestar.FilepathGlob(full, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
	if err != nil {
		return fmt.Errorf("source %s: cannot match %q%s: %v — check the path pattern", name, pattern, where, err)
	}
	if len(matches) == 0 {
		return fmt.Errorf("source %s: no files match %q%s — check the path or generate the data first", name, pattern, where)
	}
	return nil
}

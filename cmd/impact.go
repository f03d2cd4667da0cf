package cmd

import (
	"path/filepath"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/lineage"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// impactCheck reads the manifest in --state now and returns the check to
// run once the artifacts are written (a no-op without --state).
func (s *session) impactCheck() (func() error, error) {
	dir := s.a.opts.State
	if dir == "" {
		return func() error { return nil }, nil
	}
	old, err := manifest.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, usagef("--state %s: %v — point --state at the target/ directory of a previous run", dir, err)
	}
	return func() error { return s.checkImpact(old) }, nil
}

// checkImpact compares the project with the manifest in --state and
// reports, as errors at the downstream file:line, every column a changed
// model removed, renamed or retyped while a downstream model still uses
// it. New column types come from DuckDB binding the new SQL (DESCRIBE)
// on the target database; old ones from the built relations.
func (s *session) checkImpact(old *manifest.Manifest) error {
	dir := s.a.opts.State
	db := s.db
	if db == nil {
		mem, err := warehouse.Open(s.ctx(), warehouse.Memory, s.settings())
		if err != nil {
			return err
		}
		defer mem.Close()
		db = mem
	}
	oldL, err := lineage.Build(s.ctx(), db, old)
	if err != nil {
		return err
	}
	newL, err := lineage.Build(s.ctx(), db, s.man)
	if err != nil {
		return err
	}
	oldCols := map[manifest.NodeID]lineage.ColumnSet{}
	newCols := map[manifest.NodeID]lineage.ColumnSet{}
	for id, n := range s.man.Nodes {
		o := old.Nodes[id]
		if n.ResourceType != manifest.Model || o == nil || o.Fingerprint == n.Fingerprint {
			continue
		}
		ol, nl := oldL.Node(id), newL.Node(id)
		if ol == nil || nl == nil || !ol.Exact || !nl.Exact {
			continue
		}
		oldCols[id] = columnSet(ol.Columns)
		described, err := db.Columns(s.ctx(), "("+strings.TrimRight(strings.TrimSpace(n.CompiledSQL), ";")+")")
		if err == nil && len(described) == len(nl.Columns) {
			for _, c := range described {
				newCols[id] = append(newCols[id], lineage.ColumnType{Name: c.Name, Type: c.Type})
			}
		} else {
			set := columnSet(nl.Columns)
			for i := range set {
				set[i].Type = "" // the new type is unknown until DuckDB binds it
			}
			newCols[id] = set
		}
	}
	breaks := lineage.Breakings(lineage.Changes(oldCols, newCols, oldL, newL), newL)
	if len(breaks) == 0 {
		s.a.printer().Infof("Impact against --state %s: no breaking change (%d changed models checked)", dir, len(newCols))
		return nil
	}
	var list diag.List
	for _, b := range breaks {
		list = append(list, b.Diagnostic())
	}
	return list.Err()
}

func columnSet(cols []lineage.Column) lineage.ColumnSet {
	out := make(lineage.ColumnSet, len(cols))
	for i, c := range cols {
		out[i] = lineage.ColumnType{Name: c.Name, Type: c.Type}
	}
	return out
}

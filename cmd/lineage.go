package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/lineage"
	"github.com/elt-dev/elt/manifest"
	"github.com/elt-dev/elt/warehouse"
)

// lineageOptions are the flags of elt lineage.
type lineageOptions struct {
	upstream, downstream bool
	depth                int
	format               string
}

func (a *app) lineageCommand() *cobra.Command {
	var o lineageOptions
	c := &cobra.Command{
		Use:   "lineage NODE[.COLUMN] [--upstream|--downstream] [--depth N] [--format text|json|mermaid|dot]",
		Short: "Show the lineage of a model, seed or source, or of one of its columns",
		Long: "Show what a node or column is derived from (--upstream), what uses it (--downstream), or both.\n" +
			"NODE is a model or seed name, source.table, or a unique id (model.x, source.raw.events).\n" +
			"Column lineage labels each dependency: value (data flows into the column), or\n" +
			"join, filter, group, window (the column only decides rows or their order).",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.upstream && o.downstream {
				return usagef("--upstream and --downstream exclude each other — give neither for both directions")
			}
			if !validFormat(o.format) {
				return usagef("--format %q is not valid — use one of %s", o.format, strings.Join(lineage.Formats, ", "))
			}
			return a.lineage(args[0], o)
		},
	}
	c.Flags().BoolVar(&o.upstream, "upstream", false, "only what the node or column is derived from")
	c.Flags().BoolVar(&o.downstream, "downstream", false, "only what uses the node or column (what breaks if it is dropped)")
	c.Flags().IntVar(&o.depth, "depth", -1, "levels to follow (-1: all)")
	c.Flags().StringVar(&o.format, "format", "text", "output format: text, json, mermaid or dot")
	return c
}

func validFormat(f string) bool {
	for _, x := range lineage.Formats {
		if f == x {
			return true
		}
	}
	return false
}

// lineage resolves target to a node or column and prints its lineage.
func (a *app) lineage(target string, o lineageOptions) error {
	s, err := a.load(dbIfExists)
	if err != nil {
		return err
	}
	defer s.close()
	s.printGraphWarnings() // column lineage binds compiled SQL in DuckDB
	id, column, err := resolveLineageTarget(s.man, target)
	if err != nil {
		return err
	}
	dir := lineage.Both
	switch {
	case o.upstream:
		dir = lineage.Upstream
	case o.downstream:
		dir = lineage.Downstream
	}
	var g *lineage.Graph
	if column == "" {
		g = lineage.NodeGraph(s.man, id, dir, o.depth)
	} else {
		l, err := s.buildLineage()
		if err != nil {
			return err
		}
		n := l.Node(id)
		if n != nil && n.Exact && n.Column(column) == nil {
			names := make([]string, len(n.Columns))
			for i, c := range n.Columns {
				names[i] = c.Name
			}
			return usagef("%s has no column %q — its columns are: %s", id, column, strings.Join(names, ", "))
		}
		if n != nil && n.Column(column) != nil {
			column = n.Column(column).Name
		}
		g = l.ColumnGraph(lineage.Ref{Node: id, Column: column}, dir, o.depth)
	}
	return lineage.Render(a.stdout, g, o.format)
}

// buildLineage computes the project's column lineage on the target
// database when it exists, else on an empty in-memory database with the
// target's settings (so source files still resolve).
func (s *session) buildLineage() (*lineage.Lineage, error) {
	db := s.db
	if db == nil {
		mem, err := warehouse.Open(s.ctx(), warehouse.Memory, s.settings())
		if err != nil {
			return nil, err
		}
		defer mem.Close()
		db = mem
	}
	return lineage.Build(s.ctx(), db, s.man)
}

// resolveLineageTarget finds the node (and column) a lineage argument
// names: a unique id, a model or seed name, or source.table, each
// optionally followed by .column.
func resolveLineageTarget(m *manifest.Manifest, target string) (manifest.NodeID, string, error) {
	find := func(s string) manifest.NodeID {
		for _, id := range []manifest.NodeID{manifest.NodeID(s), manifest.ModelID(s), manifest.SeedID(s), manifest.NodeID("source." + s)} {
			if n := m.Node(id); n != nil && n.ResourceType != manifest.Test {
				return id
			}
		}
		return ""
	}
	if id := find(target); id != "" {
		return id, "", nil
	}
	if i := strings.LastIndexByte(target, '.'); i > 0 {
		if id := find(target[:i]); id != "" {
			return id, target[i+1:], nil
		}
	}
	var names []string
	for _, id := range m.IDs() {
		if t := id.Type(); t == manifest.Model || t == manifest.Seed || t == manifest.Source {
			names = append(names, strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(string(id), "model."), "seed."), "source."))
		}
	}
	hint := ""
	if s := closest(target, names); s != "" {
		hint = " — did you mean " + s + "?"
	} else {
		hint = " — run elt ls to list the nodes"
	}
	return "", "", usagef("lineage: %q is not a model, seed or source%s", target, hint)
}

// closest returns the name nearest to s, when close (see diag.Suggest).
func closest(s string, names []string) string { return diag.Suggest(s, names) }

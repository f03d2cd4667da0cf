package lineage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
)

// ColumnSet is a node's columns with their types ("" when unknown), in
// order, as one version of the project has them.
type ColumnSet []ColumnType

// ColumnType is one column's name and DuckDB type.
type ColumnType struct {
	Name string
	Type string
}

// Change is one column of an upstream node that a new version of the
// project removed, renamed or retyped.
type Change struct {
	Node    manifest.NodeID
	Column  string
	What    string // removed | renamed | retyped
	NewName string // for renamed
	OldType string
	NewType string
}

// String describes the change, e.g. "column spend_7d of model.x was
// renamed to spend_week".
func (c Change) String() string {
	switch c.What {
	case "renamed":
		return fmt.Sprintf("column %s of %s was renamed to %s", c.Column, c.Node, c.NewName)
	case "retyped":
		return fmt.Sprintf("column %s of %s changed type from %s to %s", c.Column, c.Node, c.OldType, c.NewType)
	}
	return fmt.Sprintf("column %s of %s was removed", c.Column, c.Node)
}

// Breaking is a change with a downstream node that still uses the column.
type Breaking struct {
	Change
	// User is the downstream column (or the rows of the node, Column
	// empty) that uses the changed column, and Pos where.
	User Use
	Pos  diag.Pos
}

// Changes compares the columns of each node between two versions and
// lists the removed, renamed and retyped ones, sorted. A removed column
// is reported as renamed when exactly one added column has the same
// value lineage in newL. A type is compared only when both are known.
func Changes(oldCols, newCols map[manifest.NodeID]ColumnSet, oldL, newL *Lineage) []Change {
	var out []Change
	for _, id := range sortedIDs(oldCols) {
		nc, ok := newCols[id]
		if !ok {
			continue // a deleted node: its dependants fail on ref()
		}
		oc := oldCols[id]
		newBy := map[string]ColumnType{}
		for _, c := range nc {
			newBy[lower(c.Name)] = c
		}
		oldBy := map[string]bool{}
		for _, c := range oc {
			oldBy[lower(c.Name)] = true
		}
		var added []string
		for _, c := range nc {
			if !oldBy[lower(c.Name)] {
				added = append(added, c.Name)
			}
		}
		for _, c := range oc {
			n, ok := newBy[lower(c.Name)]
			switch {
			case !ok:
				ch := Change{Node: id, Column: c.Name, What: "removed", OldType: c.Type}
				if to := renamedTo(id, c.Name, added, oldL, newL); to != "" {
					ch.What, ch.NewName = "renamed", to
				}
				out = append(out, ch)
			case c.Type != "" && n.Type != "" && !strings.EqualFold(c.Type, n.Type):
				out = append(out, Change{Node: id, Column: c.Name, What: "retyped", OldType: c.Type, NewType: n.Type})
			}
		}
	}
	return out
}

// renamedTo returns the one added column whose value lineage equals the
// removed column's old value lineage, or "".
func renamedTo(id manifest.NodeID, col string, added []string, oldL, newL *Lineage) string {
	if oldL == nil || newL == nil || oldL.Node(id) == nil || newL.Node(id) == nil {
		return ""
	}
	oc := oldL.Node(id).Column(col)
	if oc == nil {
		return ""
	}
	want := valueKey(oc.Deps)
	match := ""
	for _, a := range added {
		nc := newL.Node(id).Column(a)
		if nc != nil && valueKey(nc.Deps) == want {
			if match != "" {
				return ""
			}
			match = nc.Name
		}
	}
	return match
}

func valueKey(deps []Dep) string {
	var parts []string
	for _, d := range deps {
		if d.Kind == Value {
			parts = append(parts, string(d.Node)+"."+lower(d.Column))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Breakings returns, for each change, every downstream use of the old
// column in the new version of the project (l), with its file and line.
func Breakings(changes []Change, l *Lineage) []Breaking {
	var out []Breaking
	for _, c := range changes {
		for _, u := range l.Users(Ref{c.Node, c.Column}) {
			if u.Node == c.Node {
				continue
			}
			pos := diag.Pos{Line: u.Line}
			if n := l.Manifest.Node(u.Node); n != nil {
				pos.File = n.Path
				if pos.Line == 0 {
					pos.Line = 1
				}
			}
			out = append(out, Breaking{Change: c, User: u, Pos: pos})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Pos.File != out[j].Pos.File {
			return out[i].Pos.File < out[j].Pos.File
		}
		return out[i].Pos.Line < out[j].Pos.Line
	})
	return out
}

// Diagnostic renders b as an error at the downstream use.
func (b Breaking) Diagnostic() diag.Diagnostic {
	user := string(b.User.Node)
	if b.User.Column != "" {
		user += "." + b.User.Column
	}
	fix := "update this model before dropping it: add the new column, populate it, switch reads, then drop the old one"
	switch b.What {
	case "renamed":
		fix = fmt.Sprintf("read %s instead, or keep %s until no model uses it", b.NewName, b.Column)
	case "retyped":
		fix = "check this use still works with the new type, or cast the column back upstream"
	}
	return diag.Errorf(b.Pos, "breaking change: %s, and %s uses it (%s) — %s", b.Change, user, b.User.Kind, fix)
}

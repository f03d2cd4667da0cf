package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
)

func (a *app) showCommand() *cobra.Command {
	var limit int
	var inline string
	c := &cobra.Command{
		Use:   "show (-s MODEL | --inline SQL) [--limit N]",
		Short: "Run a model's compiled SQL (or inline SQL) and print the first rows",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			sel := selectors(a.opts.Select)
			switch {
			case inline == "" && len(sel) == 0:
				return usagef("show needs -s MODEL or --inline SQL")
			case inline != "" && len(sel) > 0:
				return usagef("show takes either -s MODEL or --inline SQL, not both")
			case limit < 0:
				return usagef("--limit %d is not valid — use 0 (no limit) or more", limit)
			}
			return a.show(inline, limit)
		},
	}
	c.Flags().IntVar(&limit, "limit", 5, "rows to print (0 = all)")
	c.Flags().StringVar(&inline, "inline", "", "SQL to run instead of a model; ref() and source() work")
	return c
}

// show runs one node's SQL, or inline SQL, and prints its first rows as a
// table.
func (a *app) show(inline string, limit int) error {
	s, err := a.loadWith(dbOpen, inline)
	if err != nil {
		return err
	}
	defer s.close()
	s.printGraphWarnings() // DuckDB binds the views the query reads
	var query, title string
	if inline != "" {
		n := s.man.Node(manifest.ModelID(inlineModel))
		if n == nil {
			return fmt.Errorf("show --inline: the query did not compile")
		}
		query, title = n.CompiledSQL, "inline query"
	} else {
		ids, err := s.selectNodes(nil, manifest.Model, manifest.Seed, manifest.Source)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			names := make([]string, len(ids))
			for i, id := range ids {
				names[i] = string(id)
			}
			if len(ids) == 0 {
				return usagef("show: no node matches %s", strings.Join(selectors(a.opts.Select), " "))
			}
			return usagef("show: %d nodes match (%s) — select exactly one", len(ids), strings.Join(names, ", "))
		}
		n := s.man.Node(ids[0])
		query, title = showQuery(n), "node "+n.Name
	}
	query = strings.TrimRight(strings.TrimSpace(query), ";")
	if limit > 0 {
		query = fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", query, limit)
	}
	res, err := s.db.Query(a.ctx, query)
	if err != nil {
		a.printer().Errorf("%s failed: %v", title, err)
		return &reportedError{code: ExitFailure}
	}
	pr := a.printer()
	pr.Infof("Previewing %s:", title)
	pr.Plain(renderTable(res.Columns, res.Rows))
	return nil
}

// showQuery is the SQL whose rows `elt show -s` prints: a model's compiled
// SQL (so it works before the model is built), a seed's or source's
// relation.
func showQuery(n *manifest.Node) string {
	if n.ResourceType == manifest.Model && n.CompiledSQL != "" {
		return n.CompiledSQL
	}
	if n.Relation != "" {
		return "SELECT * FROM " + n.Relation
	}
	return n.CompiledSQL
}

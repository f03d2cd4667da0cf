package cmd

import (
	"encoding/json"
	"strings"

	"github.com/spf13/cobra"

	"github.com/elt-dev/elt/manifest"
)

// lsOutputs are the values --output accepts.
var lsOutputs = []string{"name", "path", "json"}

// lsTypes are the values --resource-type accepts.
var lsTypes = []string{"model", "seed", "source", "test", "all"}

func (a *app) lsCommand() *cobra.Command {
	var output string
	var types []string
	c := &cobra.Command{
		Use:     "ls [-s SELECTOR...]",
		Aliases: []string{"list"},
		Short:   "List the selected nodes",
		RunE: func(c *cobra.Command, args []string) error {
			if err := extraSelectors(args, a.opts.Select); err != nil {
				return err
			}
			if !contains(lsOutputs, output) {
				return usagef("--output %q is not valid — use one of: %s", output, strings.Join(lsOutputs, ", "))
			}
			for _, t := range types {
				if !contains(lsTypes, t) {
					return usagef("--resource-type %q is not valid — use one of: %s", t, strings.Join(lsTypes, ", "))
				}
			}
			return a.ls(args, output, types)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "name", "output format: name, path or json")
	c.Flags().StringSliceVar(&types, "resource-type", nil, "only nodes of these types: model, seed, source, test, all (repeatable)")
	return c
}

// ls prints the selected nodes, one per line, in id order. Without
// --select every node is listed, sources and tests included.
func (a *app) ls(extra []string, output string, types []string) error {
	s, err := a.load(noDB)
	if err != nil {
		return err
	}
	defer s.close()
	var want []manifest.ResourceType
	for _, t := range types {
		if t == "all" {
			want = nil
			break
		}
		want = append(want, manifest.ResourceType(t))
	}
	var ids []manifest.NodeID
	if len(a.opts.Select) == 0 && len(a.opts.Exclude) == 0 {
		ids = s.man.IDs()
		ids = filterTypes(ids, want)
	} else {
		ids, err = s.selectNodes(extra, want...)
		if err != nil {
			return err
		}
	}
	var b strings.Builder
	for _, id := range ids {
		n := s.man.Node(id)
		if n == nil {
			continue
		}
		switch output {
		case "name":
			b.WriteString(lsName(n))
		case "path":
			b.WriteString(n.Path)
		case "json":
			line, err := json.Marshal(lsJSON(n))
			if err != nil {
				return err
			}
			b.Write(line)
		}
		b.WriteByte('\n')
	}
	if b.Len() > 0 {
		a.printer().Plain(b.String())
	}
	return nil
}

// lsName is a node's name as a selector would write it: "stg_events",
// "raw.events" for a source table.
func lsName(n *manifest.Node) string {
	if n.Source != nil {
		return n.Source.SourceName + "." + n.Source.TableName
	}
	return n.Name
}

// lsNode is the JSON line `elt ls --output json` prints for a node.
type lsNode struct {
	Name         string            `json:"name"`
	UniqueID     manifest.NodeID   `json:"unique_id"`
	ResourceType string            `json:"resource_type"`
	Path         string            `json:"original_file_path"`
	Relation     string            `json:"relation_name,omitempty"`
	Materialized string            `json:"materialized,omitempty"`
	Tags         []string          `json:"tags,omitempty"`
	DependsOn    []manifest.NodeID `json:"depends_on,omitempty"`
}

func lsJSON(n *manifest.Node) lsNode {
	out := lsNode{
		Name: lsName(n), UniqueID: n.ID, ResourceType: string(n.ResourceType), Path: n.Path,
		Relation: n.Relation, Tags: n.Tags, DependsOn: n.DependsOn,
	}
	if n.ResourceType == manifest.Model {
		out.Materialized = n.Config.Materialized
	}
	return out
}

// filterTypes keeps the ids whose type is in types (all when empty).
func filterTypes(ids []manifest.NodeID, types []manifest.ResourceType) []manifest.NodeID {
	if len(types) == 0 {
		return ids
	}
	out := ids[:0:0]
	for _, id := range ids {
		for _, t := range types {
			if id.Type() == t {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package lineage

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats lists the output formats of Render.
var Formats = []string{"text", "json", "mermaid", "dot"}

// Render writes g in format (text, json, mermaid or dot).
func Render(w io.Writer, g *Graph, format string) error {
	switch format {
	case "text":
		return renderText(w, g)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(g)
	case "mermaid":
		return renderMermaid(w, g)
	case "dot":
		return renderDOT(w, g)
	}
	return fmt.Errorf("unknown format %q — use one of %s", format, strings.Join(Formats, ", "))
}

// renderText prints the upstream tree of the root, the dependencies of
// its rows, then the downstream tree. A subtree already printed is not
// printed again.
func renderText(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString(g.Root + "\n")
	into := map[string][]Edge{}
	outOf := map[string][]Edge{}
	for _, e := range g.Edges {
		into[e.To] = append(into[e.To], e)
		outOf[e.From] = append(outOf[e.From], e)
	}
	label := func(e Edge, other string) string {
		s := other
		if e.Kind != "" {
			s = fmt.Sprintf("%-6s %s", e.Kind, other)
		}
		if e.At != "" {
			s += "  (" + e.At + ")"
		}
		return s
	}
	var tree func(node string, up bool, indent string, printed map[string]bool)
	tree = func(node string, up bool, indent string, printed map[string]bool) {
		list, arrow := outOf[node], "->"
		if up {
			list, arrow = into[node], "<-"
		}
		for _, e := range list {
			other := e.To
			if up {
				other = e.From
			}
			if strings.HasSuffix(other, RowsSuffix) && up {
				continue
			}
			fmt.Fprintf(&b, "%s%s %s", indent, arrow, label(e, displayName(other)))
			if printed[other] && len(pick(up, into, outOf)[other]) > 0 {
				b.WriteString("  (see above)\n")
				continue
			}
			b.WriteString("\n")
			printed[other] = true
			tree(other, up, indent+"   ", printed)
		}
	}
	if len(into[g.Root]) > 0 {
		b.WriteString("upstream:\n")
		tree(g.Root, true, "  ", map[string]bool{})
	}
	if rows := into[g.Node+RowsSuffix]; g.Node != "" && len(rows) > 0 {
		fmt.Fprintf(&b, "rows of %s are decided by:\n", g.Node)
		for _, e := range rows {
			fmt.Fprintf(&b, "  <- %s\n", label(e, e.From))
		}
	}
	if len(outOf[g.Root]) > 0 {
		b.WriteString("downstream:\n")
		tree(g.Root, false, "  ", map[string]bool{})
	}
	if len(g.Edges) == 0 {
		b.WriteString("  (no lineage)\n")
	}
	if len(g.Issues) > 0 {
		b.WriteString("unresolved:\n")
		for _, is := range g.Issues {
			b.WriteString("  " + is + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pick(up bool, into, outOf map[string][]Edge) map[string][]Edge {
	if up {
		return into
	}
	return outOf
}

// displayName shows the rows pseudo-column as "rows of <node>".
func displayName(s string) string {
	if strings.HasSuffix(s, RowsSuffix) {
		return "rows of " + strings.TrimSuffix(s, RowsSuffix)
	}
	return s
}

// renderMermaid writes a Mermaid flowchart, left to right; value edges are
// solid, the others dotted.
func renderMermaid(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, n := range g.Nodes {
		ids[n] = fmt.Sprintf("n%d", i)
		shape := `["%s"]`
		if n == g.Root {
			shape = `(["%s"])`
		}
		fmt.Fprintf(&b, "  %s"+shape+"\n", ids[n], mermaidText(displayName(n)))
	}
	for _, e := range g.Edges {
		arrow := "-->"
		if e.Kind != "" && e.Kind != Value {
			arrow = "-.->"
		}
		if e.Kind != "" {
			fmt.Fprintf(&b, "  %s %s|%s| %s\n", ids[e.From], arrow, e.Kind, ids[e.To])
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", ids[e.From], arrow, ids[e.To])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes a label for a quoted Mermaid node.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")
	return r.Replace(s)
}

// renderDOT writes a Graphviz digraph, left to right.
func renderDOT(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n")
	for _, n := range g.Nodes {
		attrs := ""
		if n == g.Root {
			attrs = ", style=bold"
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", dotQuote(n), dotQuote(displayName(n)), attrs)
	}
	for _, e := range g.Edges {
		attrs := ""
		if e.Kind != "" {
			attrs = " [label=" + dotQuote(string(e.Kind))
			if e.Kind != Value {
				attrs += ", style=dashed"
			}
			attrs += "]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", dotQuote(e.From), dotQuote(e.To), attrs)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// Package docs writes the documentation site of a project: a static,
// offline site (every asset embedded in the binary, nothing fetched from
// a network) with a searchable index of models, seeds, sources and tests,
// a page per node (description, owner and meta, tags, materialization,
// columns with their database types, tests and column lineage, compiled
// SQL, last run and test results) and a graph view laid out in Go. It
// reads the manifest, the column lineage and the run results, never the
// compiler's internals. User text reaches the page only as JSON data that
// the page inserts as text nodes, so no description, name, SQL or meta
// value can run as HTML or script.
package docs

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elt-dev/elt/lineage"
	"github.com/elt-dev/elt/manifest"
)

//go:embed assets
var assets embed.FS

// Input is what a site is generated from. Lineage and Runs may be nil.
type Input struct {
	Manifest *manifest.Manifest
	Lineage  *lineage.Lineage
	// Runs are the last results by node id (models, seeds, tests).
	Runs map[manifest.NodeID]RunInfo
	// GeneratedAt stamps the site; zero means now.
	GeneratedAt time.Time
}

// RunInfo is the last run of a node.
type RunInfo struct {
	Status      string  `json:"status"`
	Rows        *int64  `json:"rows,omitempty"`
	Seconds     float64 `json:"seconds"`
	CompletedAt string  `json:"at,omitempty"`
	Message     string  `json:"message,omitempty"`
}

// Data is the JSON the page reads (window.ELT_DATA).
type Data struct {
	Project     string    `json:"project"`
	GeneratedAt string    `json:"generated_at"`
	Nodes       []DocNode `json:"nodes"`
	// Graph holds the graph nodes (indices into Nodes), their edges as
	// pairs of graph indices (upstream, downstream) and their layout.
	Graph struct {
		Nodes  []int    `json:"nodes"`
		Edges  [][2]int `json:"edges"`
		Layout Layout   `json:"layout"`
	} `json:"graph"`
}

// DocNode is one node as the page shows it.
type DocNode struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Path         string         `json:"path,omitempty"`
	Description  string         `json:"desc,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	Meta         map[string]any `json:"meta,omitempty"`
	Owner        string         `json:"owner,omitempty"`
	Materialized string         `json:"mat,omitempty"`
	Relation     string         `json:"rel,omitempty"`
	Columns      []DocColumn    `json:"cols,omitempty"`
	DependsOn    []string       `json:"deps,omitempty"`
	SQL          string         `json:"sql,omitempty"`
	Run          *RunInfo       `json:"run,omitempty"`
	Tests        []DocTest      `json:"tests,omitempty"`
	Rows         []DocDep       `json:"rowdeps,omitempty"`
	Issues       []string       `json:"issues,omitempty"`
	// Attached is the node a test is declared on.
	Attached string `json:"attached,omitempty"`
	// Graph is the node's index in Data.Graph.Nodes, or -1.
	Graph int `json:"g"`
}

// DocColumn is one column: documented, built, or both.
type DocColumn struct {
	Name        string   `json:"name"`
	Type        string   `json:"type,omitempty"`
	Description string   `json:"desc,omitempty"`
	Tests       []string `json:"tests,omitempty"`
	// Upstream are the column's dependencies; the page derives what uses
	// a column from the other columns' Upstream.
	Upstream []DocDep `json:"up,omitempty"`
}

// DocDep is one lineage dependency: a column (node id and column) and how
// it is used.
type DocDep struct {
	Node   string `json:"node"`
	Column string `json:"col,omitempty"`
	Kind   string `json:"kind"`
}

// DocTest is a test of a node with its last result.
type DocTest struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Column string   `json:"col,omitempty"`
	Run    *RunInfo `json:"run,omitempty"`
}

// Collect turns in into the page's data.
func Collect(in Input) *Data {
	m := in.Manifest
	if m.Children == nil {
		m.BuildChildren()
	}
	at := in.GeneratedAt
	if at.IsZero() {
		at = time.Now()
	}
	d := &Data{Project: m.Metadata.ProjectName, GeneratedAt: at.UTC().Format(time.RFC3339)}
	tests := map[manifest.NodeID][]DocTest{}
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		if n.ResourceType == manifest.Test && n.TestInfo != nil && n.TestInfo.AttachedNode != "" {
			name := n.TestInfo.TestName
			if name == "" {
				name = n.Name
			}
			t := DocTest{ID: string(id), Name: name, Column: n.TestInfo.ColumnName, Run: runOf(in.Runs, id)}
			tests[n.TestInfo.AttachedNode] = append(tests[n.TestInfo.AttachedNode], t)
		}
	}
	graphIndex := map[manifest.NodeID]int{}
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		dn := DocNode{
			ID: string(id), Type: string(n.ResourceType), Name: n.Name, Path: n.Path,
			Description: n.Description, Tags: n.Tags, Meta: metaOf(n), Relation: n.Relation,
			SQL: n.CompiledSQL, Run: runOf(in.Runs, id), Tests: tests[id], Graph: -1,
		}
		if o, ok := dn.Meta["owner"]; ok {
			dn.Owner = fmt.Sprint(o)
		}
		if n.ResourceType == manifest.Model {
			dn.Materialized = n.Config.Materialized
		}
		if n.ResourceType == manifest.Source && n.Source != nil {
			dn.Name = n.Source.SourceName + "." + n.Source.TableName
		}
		if n.TestInfo != nil {
			dn.Attached = string(n.TestInfo.AttachedNode)
		}
		for _, dep := range n.DependsOn {
			dn.DependsOn = append(dn.DependsOn, string(dep))
		}
		dn.Columns, dn.Rows, dn.Issues = columnsOf(n, in.Lineage, tests[id])
		if n.ResourceType != manifest.Test {
			graphIndex[id] = len(d.Graph.Nodes)
			dn.Graph = len(d.Graph.Nodes)
			d.Graph.Nodes = append(d.Graph.Nodes, len(d.Nodes))
		}
		d.Nodes = append(d.Nodes, dn)
	}
	parents := make([][]int, len(d.Graph.Nodes))
	for gi, ni := range d.Graph.Nodes {
		for _, dep := range m.Nodes[manifest.NodeID(d.Nodes[ni].ID)].DependsOn {
			if pi, ok := graphIndex[dep]; ok {
				parents[gi] = append(parents[gi], pi)
				d.Graph.Edges = append(d.Graph.Edges, [2]int{pi, gi})
			}
		}
	}
	d.Graph.Layout = layoutGraph(len(parents), parents)
	return d
}

// metaOf merges a node's meta and its config's meta (config wins).
func metaOf(n *manifest.Node) map[string]any {
	if len(n.Config.Meta) == 0 {
		return n.Meta
	}
	out := map[string]any{}
	for k, v := range n.Meta {
		out[k] = v
	}
	for k, v := range n.Config.Meta {
		out[k] = v
	}
	return out
}

func runOf(runs map[manifest.NodeID]RunInfo, id manifest.NodeID) *RunInfo {
	if r, ok := runs[id]; ok {
		return &r
	}
	return nil
}

// columnsOf merges a node's documented columns with its lineage columns:
// the built order first, then documented columns the SQL does not
// produce.
func columnsOf(n *manifest.Node, l *lineage.Lineage, tests []DocTest) (cols []DocColumn, rows []DocDep, issues []string) {
	docs := map[string]manifest.Column{}
	for _, c := range n.Columns {
		docs[strings.ToLower(c.Name)] = c
	}
	testsOf := map[string][]string{}
	for _, t := range tests {
		if t.Column != "" {
			testsOf[strings.ToLower(t.Column)] = append(testsOf[strings.ToLower(t.Column)], t.Name)
		}
	}
	seen := map[string]bool{}
	add := func(name, typ string, up []DocDep) {
		key := strings.ToLower(name)
		seen[key] = true
		dc := docs[key]
		c := DocColumn{Name: name, Type: typ, Description: dc.Description, Tests: testsOf[key], Upstream: up}
		if c.Type == "" {
			c.Type = dc.DataType
		}
		cols = append(cols, c)
	}
	var ln *lineage.Node
	if l != nil {
		ln = l.Node(n.ID)
	}
	if ln != nil {
		for _, c := range ln.Columns {
			var up []DocDep
			for _, d := range c.Deps {
				up = append(up, DocDep{Node: string(d.Node), Column: d.Column, Kind: string(d.Kind)})
			}
			add(c.Name, c.Type, up)
		}
		for _, d := range ln.Rows {
			rows = append(rows, DocDep{Node: string(d.Node), Column: d.Column, Kind: string(d.Kind)})
		}
		for _, is := range ln.Issues {
			issues = append(issues, strings.TrimPrefix(is.Pos.String()+": "+is.Message, ": "))
		}
	}
	for _, c := range n.Columns {
		if !seen[strings.ToLower(c.Name)] {
			add(c.Name, "", nil)
		}
	}
	return cols, rows, issues
}

// Generate writes the site into dir (created if needed): index.html, the
// page's script and style, and data.js holding d. It replaces the files
// it writes and leaves others alone.
func Generate(dir string, d *Data) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return fmt.Errorf("docs: embedded asset %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("docs: %w", err)
		}
	}
	data, err := EncodeData(d)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "data.js"), data, 0o644); err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	return nil
}

// EncodeData renders d as the script data.js: `window.ELT_DATA = {...};`.
// encoding/json escapes <, > and & as \u003c, \u003e and \u0026, so no
// user text can close the script element or open another.
func EncodeData(d *Data) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("window.ELT_DATA = ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	b.Truncate(b.Len() - 1)
	b.WriteString(";\n")
	return b.Bytes(), nil
}

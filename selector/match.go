package selector

import (
	"encoding/json"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// matcher evaluates methods against the nodes of one manifest, caching the
// per-node values some methods need.
type matcher struct {
	m       *manifest.Manifest
	state   *manifest.Manifest
	ids     []manifest.NodeID
	fqns    map[manifest.NodeID][]string
	configs map[manifest.NodeID]map[string]any
}

func newMatcher(m, state *manifest.Manifest) *matcher {
	return &matcher{m: m, state: state, ids: m.IDs()}
}

// nodes returns the ids of every node the criterion's method matches,
// before graph operators.
func (x *matcher) nodes(c criterion) []manifest.NodeID {
	var out []manifest.NodeID
	for _, id := range x.ids {
		if x.match(c, id, x.m.Nodes[id]) {
			out = append(out, id)
		}
	}
	return out
}

func (x *matcher) match(c criterion, id manifest.NodeID, n *manifest.Node) bool {
	if n == nil {
		return false
	}
	switch c.method {
	case "":
		if looksLikePath(c.value) {
			return x.path(c.value, n)
		}
		return string(id) == c.value || fqnMatch(x.fqn(id, n), c.value)
	case methodFQN:
		return fqnMatch(x.fqn(id, n), c.value)
	case methodPath:
		return x.path(c.value, n)
	case methodFile:
		base := path.Base(n.Path)
		return n.Path != "" && (glob(c.value, base) || glob(c.value, strings.TrimSuffix(base, path.Ext(base))))
	case methodTag:
		for _, tags := range [][]string{n.Tags, n.Config.Tags} {
			for _, t := range tags {
				if glob(c.value, t) {
					return true
				}
			}
		}
		return false
	case methodSource:
		return sourceMatch(x.m.Metadata.ProjectName, c.value, id, n)
	case methodConfig:
		return x.config(c.key, c.value, id, n)
	case methodResourceType:
		return resourceType(id, n) == c.value
	case methodTestType:
		tt := testType(id, n)
		return tt != "" && (tt == c.value || c.value == "data" && (tt == "generic" || tt == "singular"))
	case methodTestName:
		if id.Type() != manifest.Test {
			return false
		}
		if n.TestInfo != nil && n.TestInfo.TestName != "" {
			return glob(c.value, n.TestInfo.TestName)
		}
		return glob(c.value, n.Name)
	case methodState:
		var old *manifest.Node
		if x.state != nil {
			old = x.state.Nodes[id]
		}
		modified := old == nil || old.Fingerprint != n.Fingerprint
		switch c.value {
		case "new":
			return old == nil
		case "old":
			return old != nil
		case "modified":
			return modified
		case "unmodified":
			return !modified
		}
	}
	return false
}

// looksLikePath reports whether a bare value names a file or folder rather
// than a node, as dbt decides it: a path separator or a file extension.
func looksLikePath(v string) bool {
	if strings.ContainsAny(v, `/\`) {
		return true
	}
	switch path.Ext(v) {
	case ".sql", ".csv", ".yml", ".yaml", ".py":
		return true
	}
	return false
}

// path matches a file or folder relative to the project directory (an
// absolute path inside the project works too); globs match the file or any
// of its folders.
func (x *matcher) path(v string, n *manifest.Node) bool {
	if n.Path == "" {
		return false
	}
	v = cleanPath(x.m.Metadata.ProjectDir, v)
	if v == "." {
		return true
	}
	if n.Path == v || strings.HasPrefix(n.Path, v+"/") {
		return true
	}
	if !strings.ContainsAny(v, "*?[") {
		return false
	}
	for p := n.Path; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if ok, _ := path.Match(v, p); ok {
			return true
		}
	}
	return false
}

// cleanPath normalises a user-written path to the slash form node paths use.
func cleanPath(projectDir, v string) string {
	if filepath.IsAbs(v) && projectDir != "" {
		if rel, err := filepath.Rel(projectDir, v); err == nil {
			v = rel
		}
	}
	return path.Clean(filepath.ToSlash(v))
}

// fqn returns the node's fully qualified name as dbt builds it: the project,
// the folders of its file below models/ (seeds/, tests/, …), then its name;
// a source ends with its source and table names.
func (x *matcher) fqn(id manifest.NodeID, n *manifest.Node) []string {
	if f, ok := x.fqns[id]; ok {
		return f
	}
	var f []string
	if p := x.m.Metadata.ProjectName; p != "" {
		f = append(f, p)
	}
	if dir := path.Dir(n.Path); n.Path != "" && dir != "." && dir != "/" {
		parts := strings.Split(strings.Trim(dir, "/"), "/")
		f = append(f, parts[1:]...) // drop models/, seeds/, tests/
	}
	if id.Type() == manifest.Source {
		src, table := sourceNames(id, n)
		f = append(f, src, table)
	} else {
		f = append(f, n.Name)
	}
	if x.fqns == nil {
		x.fqns = map[manifest.NodeID][]string{}
	}
	x.fqns[id] = f
	return f
}

// fqnMatch is dbt's rule: the selector matches the last fqn element (a
// node's name), or is a dot-separated prefix of the fqn, where "*" ends the
// comparison and each part may be a glob.
func fqnMatch(fqn []string, sel string) bool {
	if len(fqn) == 0 {
		return false
	}
	if glob(sel, fqn[len(fqn)-1]) {
		return true
	}
	var flat []string
	for _, f := range fqn {
		flat = append(flat, strings.Split(f, ".")...)
	}
	parts := strings.Split(sel, ".")
	if len(parts) > len(flat) {
		return false
	}
	for i, p := range parts {
		if p == "*" {
			return true
		}
		if !glob(p, flat[i]) {
			return false
		}
	}
	return true
}

// sourceNames returns a source node's source and table names, from its
// SourceInfo or else from its id "source.<source>.<table>".
func sourceNames(id manifest.NodeID, n *manifest.Node) (string, string) {
	if n.Source != nil {
		return n.Source.SourceName, n.Source.TableName
	}
	src, table, _ := strings.Cut(strings.TrimPrefix(string(id), "source."), ".")
	return src, table
}

// sourceMatch matches source:<source>, source:<source>.<table> or
// source:<project>.<source>.<table>, each part a glob.
func sourceMatch(project, v string, id manifest.NodeID, n *manifest.Node) bool {
	if id.Type() != manifest.Source {
		return false
	}
	src, table := sourceNames(id, n)
	parts := strings.Split(v, ".")
	switch len(parts) {
	case 1:
		return glob(parts[0], src)
	case 2:
		return glob(parts[0], src) && glob(parts[1], table)
	case 3:
		return glob(parts[0], project) && glob(parts[1], src) && glob(parts[2], table)
	}
	return false
}

// resourceType is the node's type as resource_type: names it: snapshot
// models are "snapshot" and unit tests "unit_test", as in dbt.
func resourceType(id manifest.NodeID, n *manifest.Node) string {
	t := id.Type()
	switch {
	case t == manifest.Model && n.Config.Materialized == "snapshot":
		return "snapshot"
	case t == manifest.Test && testType(id, n) == "unit":
		return "unit_test"
	}
	return string(t)
}

// testType is generic, singular or unit for a test node, "" otherwise. A
// test without TestInfo is singular.
func testType(id manifest.NodeID, n *manifest.Node) string {
	if id.Type() != manifest.Test {
		return ""
	}
	if n.TestInfo == nil || n.TestInfo.TestType == "" {
		return "singular"
	}
	return n.TestInfo.TestType
}

// config matches config.<key>:<value>. key may reach into maps
// (meta.owner). A list matches when any element does; a key the node does
// not set compares as its kind's zero value.
func (x *matcher) config(key, want string, id manifest.NodeID, n *manifest.Node) bool {
	cfg, ok := x.configs[id]
	if !ok {
		b, err := json.Marshal(n.Config)
		if err == nil {
			err = json.Unmarshal(b, &cfg)
		}
		if err != nil {
			cfg = nil
		}
		if x.configs == nil {
			x.configs = map[manifest.NodeID]map[string]any{}
		}
		x.configs[id] = cfg
	}
	parts := strings.Split(key, ".")
	var v any = cfg
	for _, p := range parts {
		mp, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = mp[p]; !ok {
			if len(parts) > 1 {
				return false
			}
			switch manifest.Keys[p] {
			case manifest.KindBool:
				v = false
			case manifest.KindInt, manifest.KindFloat:
				v = float64(0)
			case manifest.KindString:
				v = ""
			}
		}
	}
	return valueMatch(v, want)
}

func valueMatch(v any, want string) bool {
	switch t := v.(type) {
	case string:
		return glob(want, t)
	case bool:
		b, err := strconv.ParseBool(want)
		return err == nil && b == t
	case float64:
		f, err := strconv.ParseFloat(want, 64)
		return err == nil && f == t
	case []any:
		for _, e := range t {
			if valueMatch(e, want) {
				return true
			}
		}
	}
	return false
}

// glob matches s against a shell pattern; a pattern without meta characters
// must equal s. Patterns are validated at parse time.
func glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, `*?[\`) {
		return pattern == s
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

package project

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/elt-dev/elt/diag"
)

// fileCtx reads the YAML of one file. Every helper reports problems into
// errs with the file's name and the offending node's line, and returns a
// zero value, so a reader goes on and collects every problem of the file.
type fileCtx struct {
	file string
	errs diag.List
}

func (c *fileCtx) pos(n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: c.file}
	}
	return diag.Pos{File: c.file, Line: n.Line}
}

func (c *fileCtx) errorf(n *yaml.Node, format string, args ...any) {
	c.errs.Errorf(c.pos(n), format, args...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseYAML parses data as exactly one YAML document whose root is a
// mapping. It reports syntax errors at the line yaml.v3 gives, an empty file,
// and more than one document; it returns nil on any of them.
func (c *fileCtx) parseYAML(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		c.errs.Errorf(diag.Pos{File: c.file, Line: line}, "invalid YAML: %s — fix the syntax", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		c.errs.Errorf(diag.Pos{File: c.file, Line: 1}, "file is empty — add content or delete the file")
		return nil
	}
	if bytesHaveSecondDoc(data) {
		c.errs.Errorf(diag.Pos{File: c.file, Line: 1}, "file holds several YAML documents (---) — keep one document per file")
		return nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "the file must be a mapping of keys, got %s", describe(root))
		return nil
	}
	return root
}

// bytesHaveSecondDoc reports whether data separates documents with a
// "---" line after some content, which yaml.Unmarshal would silently drop.
func bytesHaveSecondDoc(data []byte) bool {
	if !bytes.Contains(data, []byte("---")) {
		return false
	}
	content := false
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) {
			if content {
				return true
			}
			continue
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			content = true
		}
	}
	return false
}

// deref follows alias nodes to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names a node's kind and value for "got …" in type errors.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported YAML node"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// entry is one key and value of a mapping.
type entry struct {
	Key  string
	K, V *yaml.Node
}

// mapping is a checked YAML mapping. Lookups by key are done with get;
// entries keep source order.
type mapping struct {
	c       *fileCtx
	n       *yaml.Node
	entries []entry // keys are unique; looked up by a linear scan, which beats a map for the few keys a YAML mapping has
	// typos holds the allowed keys that check suggested for an unknown
	// key: a missing required key that was only misspelt is not reported
	// twice.
	typos map[string]bool
}

// asMap returns n as a mapping, or nil after reporting that what must be a
// mapping. Merge keys (<<) are expanded; duplicate keys are errors. When
// norm is set, dashes in keys become underscores.
func (c *fileCtx) asMap(n *yaml.Node, what string, norm bool) *mapping {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "%s must be a mapping, got %s", what, describe(n))
		return nil
	}
	m := &mapping{c: c, n: n, entries: make([]entry, 0, len(n.Content)/2)}
	m.add(n, norm, false)
	return m
}

// add adds the entries of n. Direct keys come first; the entries of merge
// keys (<<) are added after them and only where absent, so a direct key
// wins. Duplicate direct keys are errors.
func (m *mapping) add(n *yaml.Node, norm, merged bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		k = deref(k)
		if k.Kind != yaml.ScalarNode {
			m.c.errorf(k, "keys must be plain names, got %s", describe(k))
			continue
		}
		key := k.Value
		if norm {
			key = strings.ReplaceAll(key, "-", "_")
		}
		if j := m.find(key); j >= 0 {
			if !merged {
				m.c.errorf(k, "duplicate key %q (also line %d) — keep one", k.Value, m.entries[j].K.Line)
			}
			continue
		}
		m.entries = append(m.entries, entry{key, k, v})
	}
	for _, v := range merges {
		m.merge(v, norm)
	}
}

func (m *mapping) merge(v *yaml.Node, norm bool) {
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		m.add(v, norm, true)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			m.merge(item, norm)
		}
	default:
		m.c.errorf(v, "a merge key (<<) must name a mapping, got %s", describe(v))
	}
}

// get returns the value of key, or nil.
func (m *mapping) get(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	if i := m.find(key); i >= 0 {
		return m.entries[i].V
	}
	return nil
}

// find returns the index of key in entries, or -1.
func (m *mapping) find(key string) int {
	for i := range m.entries {
		if m.entries[i].Key == key {
			return i
		}
	}
	return -1
}

// check reports every key not in allowed as unknown in where (e.g.
// `model "x"`), suggesting the closest allowed key.
func (m *mapping) check(where string, allowed ...string) {
	if m == nil {
		return
	}
	for _, e := range m.entries {
		if !contains(allowed, e.Key) {
			if s := m.c.unknownKey(e.K, e.K.Value, where, allowed, ""); s != "" {
				if m.typos == nil {
					m.typos = map[string]bool{}
				}
				m.typos[s] = true
			}
		}
	}
}

// unknownKey reports key as unknown in where. prefix is prepended to the
// suggestion (e.g. "+" for folder config keys). It returns the suggested
// key, or "".
func (c *fileCtx) unknownKey(at *yaml.Node, key, where string, allowed []string, prefix string) string {
	word := strings.TrimPrefix(key, prefix)
	s := suggest(strings.ReplaceAll(word, "-", "_"), allowed)
	if s != "" {
		c.errorf(at, "unknown key %q in %s — did you mean %q?", key, where, prefix+s)
	} else {
		c.errorf(at, "unknown key %q in %s — allowed: %s", key, where, strings.Join(sortedCopy(allowed), ", "))
	}
	return s
}

// misspelt reports whether check found an unknown key close to key.
func (m *mapping) misspelt(key string) bool { return m != nil && m.typos[key] }

// required reports a missing key and returns its value otherwise.
func (m *mapping) required(key, where string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.get(key)
	if v == nil && !m.typos[key] {
		m.c.errorf(m.n, "%s is missing required key %q", where, key)
	}
	return v
}

// str returns the scalar at key as text; nothing gives "".
func (m *mapping) str(key string) string {
	if m == nil {
		return ""
	}
	return m.c.str(m.get(key), key)
}

func (c *fileCtx) str(n *yaml.Node, key string) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, "%q must be a string, got %s", key, describe(n))
		return ""
	}
	if v, ok := scalarValue(n).(string); ok {
		return v
	}
	return n.Value
}

// integer returns the integer at key, or def when the key is absent.
func (m *mapping) integer(key string, def int) int {
	n := deref(m.get(key))
	if n == nil {
		return def
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		m.c.errorf(n, "%q must be an integer, got %s", key, describe(n))
		return def
	}
	v, ok := scalarValue(n).(int64)
	if !ok || v > math.MaxInt32 || v < math.MinInt32 {
		m.c.errorf(n, "%q is out of range: %s", key, n.Value)
		return def
	}
	return int(v)
}

// boolean returns the boolean at key, or false when the key is absent.
func (m *mapping) boolean(key string) bool {
	n := deref(m.get(key))
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		m.c.errorf(n, "%q must be true or false, got %s", key, describe(n))
		return false
	}
	b, _ := scalarValue(n).(bool)
	return b
}

// strList returns a string or a list of strings at key as a list.
func (m *mapping) strList(key string) []string {
	if m == nil {
		return nil
	}
	return m.c.strList(m.get(key), key)
}

func (c *fileCtx) strList(n *yaml.Node, key string) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{c.str(n, key)}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode || isNull(item) {
				c.errorf(item, "%q must be a string or a list of strings, got an item %s", key, describe(item))
				continue
			}
			out = append(out, c.str(item, key))
		}
		return out
	}
	c.errorf(n, "%q must be a string or a list of strings, got %s", key, describe(n))
	return nil
}

// anyMap returns the mapping at key with normalised values.
func (m *mapping) anyMap(key string) map[string]any {
	n := m.get(key)
	if isNull(n) {
		return nil
	}
	if deref(n).Kind != yaml.MappingNode {
		m.c.errorf(n, "%q must be a mapping, got %s", key, describe(n))
		return nil
	}
	v, _ := m.c.value(n).(map[string]any)
	return v
}

// seq returns the items of the list at key; nothing gives nil.
func (m *mapping) seq(key string) []*yaml.Node {
	if m == nil {
		return nil
	}
	return m.c.seq(m.get(key), key)
}

func (c *fileCtx) seq(n *yaml.Node, key string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "%q must be a list, got %s", key, describe(n))
		return nil
	}
	return n.Content
}

// value converts n to plain Go values: string, bool, int64, float64, nil,
// []any and map[string]any. Dates become "2006-01-02" strings and times
// RFC 3339 strings.
func (c *fileCtx) value(n *yaml.Node) any {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		return scalarValue(n)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			out[i] = c.value(item)
		}
		return out
	case yaml.MappingNode:
		m := c.asMap(n, "value", false)
		out := make(map[string]any, len(m.entries))
		for _, e := range m.entries {
			out[e.Key] = c.value(e.V)
		}
		return out
	}
	return nil
}

var dateOnlyRE = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}$`)

// scalarValue converts a scalar node by its resolved tag.
func scalarValue(n *yaml.Node) any {
	tag := n.ShortTag()
	switch tag {
	case "!!null":
		return nil
	case "!!str":
		return n.Value
	case "!!bool":
		switch n.Value {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return v
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	}
	switch tag {
	case "!!bool", "!!int", "!!float", "!!timestamp":
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
		return normalize(v, n.Value)
	}
	return n.Value
}

// normalize maps a decoded scalar to string, bool, int64 or float64. text
// is the scalar as written, which tells a date from a timestamp.
func normalize(v any, text string) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case float64, bool, string:
		return x
	case time.Time:
		if dateOnlyRE.MatchString(strings.TrimSpace(text)) {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// configValue converts n to a Value with its position.
func (c *fileCtx) configValue(n *yaml.Node) Value {
	return Value{V: c.value(n), Pos: c.pos(n)}
}

// ParseMapping reads text, a YAML (or JSON) mapping such as --vars gives,
// into the values the same mapping holds in project.yaml's vars: string,
// bool, int64, float64, nil, []any and map[string]any, with dates as
// "2006-01-02" and times as RFC 3339 strings, as written. Empty text gives
// nil.
func ParseMapping(text string) (map[string]any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := deref(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("got %s, not a mapping", describe(root))
	}
	c := &fileCtx{}
	m, _ := c.value(root).(map[string]any)
	if c.errs.HasErrors() {
		return nil, errors.New(c.errs[0].Msg)
	}
	return m, nil
}

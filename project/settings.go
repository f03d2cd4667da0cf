package project

import (
	"bytes"
	"crypto/sha256"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// settingsDigest returns the SHA-256 of project.yaml (data, parsed as
// root, its root mapping; nil when it did not parse) without its top-level
// vars entry: every other line, each with its line number, so that editing
// the variables alone leaves the digest unchanged, while any other edit,
// or a variables edit that moves another entry to other lines (whose
// positions messages cite), changes it. When the vars entry cannot be cut
// out for certain, it is the digest of the whole file: a root that is not
// a block mapping, a file with anchors or aliases anywhere (a value
// elsewhere may be an alias of one under vars), a file that is not UTF-8
// (YAML reads UTF-16, whose bytes may hold \n in any character), or one
// with a line break other than \n and \r\n (YAML also breaks lines at a
// lone \r, U+0085, U+2028 and U+2029): the parser's line numbers would not
// be the lines cut here.
func settingsDigest(data []byte, root *yaml.Node) [32]byte {
	whole := sha256.Sum256(data)
	if root == nil || root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || hasAnchors(root) || !utf8.Valid(data) || otherBreaks(data) {
		return whole
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	// The vars entry runs from its key's line to the next key's (none:
	// nothing is cut).
	from, to := 0, 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Value != "vars" {
			continue
		}
		from, to = k.Line, 1<<31-1
		if i+2 < len(root.Content) {
			to = root.Content[i+2].Line
		}
		if i > 0 && root.Content[i-2].Line >= from || to <= from {
			return whole // shares a line with another entry
		}
		if from > len(lines) || !bytes.Contains(lines[from-1], []byte("vars")) {
			return whole // not the line the parser says (a guard: see otherBreaks)
		}
	}
	h := sha256.New()
	h.Write([]byte("project.yaml without vars\n"))
	for n, line := range lines {
		if n+1 >= from && n+1 < to || len(line) == 0 { // (the empty rest after a last newline)
			continue
		}
		h.Write([]byte(strconv.Itoa(n + 1)))
		h.Write([]byte{0})
		h.Write(line)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// otherBreaks reports whether data has a line break YAML counts and a
// split at \n does not: a \r not followed by \n, NEL, LS or PS.
func otherBreaks(data []byte) bool {
	if bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) || bytes.Contains(data, []byte("\u2029")) {
		return true
	}
	for rest := data; ; {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			return false
		}
		if i+1 >= len(rest) || rest[i+1] != '\n' {
			return true
		}
		rest = rest[i+2:]
	}
}

// hasAnchors reports whether n or a node under it has an anchor or is an
// alias.
func hasAnchors(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

package lineage

import (
	"sort"
	"strings"

	"github.com/elt-dev/elt/manifest"
)

// lineMap turns byte offsets in a model's compiled SQL into lines of the
// model's own file. Jinja keeps most lines where they were, but inlined
// ephemeral models add lines at the top and macros may add lines inside,
// so a line is found by looking for the column's name in the raw file
// near the compiled line.
type lineMap struct {
	compiled []int    // byte offset of the start of each compiled line
	raw      []string // the raw file's lines, lower-cased
	shift    int      // compiled lines before the raw file's first line
}

func newLineMap(n *manifest.Node) *lineMap {
	m := &lineMap{compiled: []int{0}, raw: strings.Split(strings.ToLower(n.RawSQL), "\n")}
	for i, c := range n.CompiledSQL {
		if c == '\n' {
			m.compiled = append(m.compiled, i+1)
		}
	}
	if strings.HasPrefix(strings.TrimSpace(n.CompiledSQL), "with "+ephemeralPrefix) {
		m.shift = len(m.compiled) - len(m.raw)
		if m.shift < 0 {
			m.shift = 0
		}
	}
	return m
}

// line returns the 1-based line of the raw file for a compiled offset,
// preferring a nearby line that mentions word; 0 when offset is unknown.
func (m *lineMap) line(offset int, word string) int {
	if offset < 0 || len(m.raw) == 0 {
		return 0
	}
	cl := sort.Search(len(m.compiled), func(i int) bool { return m.compiled[i] > offset })
	est := cl - m.shift
	if est < 1 {
		est = 1
	}
	if word == "" {
		return min(est, len(m.raw))
	}
	word = strings.ToLower(word)
	best, bestDist := 0, 1<<30
	for i, l := range m.raw {
		if !hasWord(l, word) {
			continue
		}
		d := i + 1 - est
		if d < 0 {
			d = -d
		}
		if d < bestDist {
			best, bestDist = i+1, d
		}
	}
	if best == 0 {
		return min(est, len(m.raw))
	}
	return best
}

// hasWord reports whether word occurs in line as a whole identifier.
func hasWord(line, word string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !identByte(line[start-1])) && (end == len(line) || !identByte(line[end])) {
			return true
		}
		i = start + 1
	}
}

func identByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

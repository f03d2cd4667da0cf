package compiler

import (
	"sort"
	"strings"
	"unicode"

	"github.com/elt-dev/elt/manifest"
)

// inlineEphemerals sets every live unit's CompiledSQL: its rendered SQL
// with each ephemeral model it reaches through refs (directly or through
// other ephemerals) inlined once as a CTE __elt_eph_<name>, in dependency
// order. A unit on a cycle of ephemerals is left un-inlined: checkCycles
// reports the cycle.
func (c *compilation) inlineEphemerals(live []*unit) {
	for _, u := range live {
		if u.failed {
			continue
		}
		order, cyc := c.ephemeralOrder(u)
		if cyc != "" {
			continue
		}
		ctes := make([]string, 0, len(order))
		for _, e := range order {
			ctes = append(ctes, ephemeralName(e.node.Name)+" as (\n"+trimSQL(e.rendered)+"\n)")
		}
		u.node.CompiledSQL = withCTEs(u.rendered, ctes)
	}
}

// ephemeralOrder lists the ephemeral models u depends on through chains of
// ephemerals, each once, dependencies first. cyc describes a cycle if any.
func (c *compilation) ephemeralOrder(u *unit) (order []*unit, cyc string) {
	state := map[*unit]int{} // 1 visiting, 2 done
	var stack []string
	var visit func(x *unit) bool
	visit = func(x *unit) bool {
		for _, id := range sortedDeps(x.deps) {
			if id.Type() != manifest.Model {
				continue
			}
			e := c.models[strings.TrimPrefix(string(id), "model.")]
			if e == nil || e.node.Config.Materialized != "ephemeral" || e.failed {
				continue
			}
			switch state[e] {
			case 2:
				continue
			case 1:
				cyc = strings.Join(append(stack, e.node.Name), " -> ")
				return false
			}
			state[e] = 1
			stack = append(stack, e.node.Name)
			if !visit(e) {
				return false
			}
			stack = stack[:len(stack)-1]
			state[e] = 2
			order = append(order, e)
		}
		return true
	}
	stack = append(stack, u.node.Name)
	state[u] = 1
	visit(u)
	return order, cyc
}

func sortedDeps(m map[manifest.NodeID]bool) []manifest.NodeID {
	out := make([]manifest.NodeID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// trimSQL drops surrounding white space and trailing semicolons.
func trimSQL(s string) string {
	return strings.TrimRightFunc(strings.TrimRight(strings.TrimSpace(s), ";"), unicode.IsSpace)
}

// withCTEs prepends ctes to sql. When sql starts (after comments and white
// space) with WITH or WITH RECURSIVE, the CTEs join that clause; otherwise
// a new WITH clause is put in front.
func withCTEs(sql string, ctes []string) string {
	if len(ctes) == 0 {
		return sql
	}
	list := strings.Join(ctes, ",\n")
	start := skipComments(sql)
	if end, ok := keywordAt(sql, start, "with"); ok {
		at := end
		if rEnd, ok := keywordAt(sql, skipComments2(sql, end), "recursive"); ok {
			at = rEnd
		}
		return sql[:at] + " " + list + ",\n" + strings.TrimLeftFunc(sql[at:], unicode.IsSpace)
	}
	return "with " + list + "\n" + sql
}

// skipComments returns the offset of the first byte of sql that is neither
// white space nor inside a -- or /* */ comment.
func skipComments(sql string) int { return skipComments2(sql, 0) }

func skipComments2(sql string, i int) int {
	for i < len(sql) {
		switch {
		case unicode.IsSpace(rune(sql[i])):
			i++
		case strings.HasPrefix(sql[i:], "--"):
			nl := strings.IndexByte(sql[i:], '\n')
			if nl < 0 {
				return len(sql)
			}
			i += nl + 1
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return len(sql)
			}
			i += end + 4
		default:
			return i
		}
	}
	return i
}

// keywordAt reports whether the word kw (any case) starts at sql[i] and is
// followed by a non-identifier byte, and returns the offset after it.
func keywordAt(sql string, i int, kw string) (int, bool) {
	end := i + len(kw)
	if end > len(sql) || !strings.EqualFold(sql[i:end], kw) {
		return 0, false
	}
	if end < len(sql) {
		r := rune(sql[end])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return 0, false
		}
	}
	return end, true
}

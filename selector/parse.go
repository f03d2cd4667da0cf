package selector

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/elt-dev/elt/diag"
	"github.com/elt-dev/elt/manifest"
)

// term is one space-separated word of a --select or --exclude argument: the
// intersection of its comma-separated criteria.
type term struct {
	raw   string
	parts []criterion
}

// criterion is one comma-separated part of a term:
//
//	[@][N+|+]method:value[+|+N]     or     [@][N+|+]value[+|+N]
//
// A depth of -1 means unlimited.
type criterion struct {
	raw           string
	at            bool // @x: x, its descendants, and their ancestors
	parents       bool
	parentsDepth  int
	children      bool
	childrenDepth int
	method        string // "" for a bare value (the default method)
	key           string // for config.<key>: the key path, dashes as underscores
	value         string
}

// The selector methods, in the order error messages list them.
const (
	methodConfig       = "config"
	methodFile         = "file"
	methodFQN          = "fqn"
	methodPath         = "path"
	methodResourceType = "resource_type"
	methodSource       = "source"
	methodState        = "state"
	methodTag          = "tag"
	methodTestName     = "test_name"
	methodTestType     = "test_type"
)

var methods = []string{
	methodConfig, methodFile, methodFQN, methodPath, methodResourceType,
	methodSource, methodState, methodTag, methodTestName, methodTestType,
}

// Accepted values of the methods that take a fixed set.
var (
	resourceTypes = []string{"model", "seed", "snapshot", "source", "test", "unit_test"}
	testTypes     = []string{"data", "generic", "singular", "unit"}
	stateValues   = []string{"modified", "new", "old", "unmodified"}
)

// parseArg splits one --select/--exclude argument into terms. flag names the
// option in error messages ("--select"). An argument of only spaces yields
// no terms.
func parseArg(flag, arg string) ([]term, error) {
	var terms []term
	for _, word := range strings.Fields(arg) {
		t := term{raw: word}
		for _, part := range strings.Split(word, ",") {
			c, err := parseCriterion(part)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %s", flag, word, err.Error())
			}
			t.parts = append(t.parts, c)
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// parseCriterion parses one comma-separated part. Its errors state what is
// wrong and how to fix it; the caller adds the flag and the argument.
func parseCriterion(s string) (criterion, error) {
	c := criterion{raw: s, parentsDepth: -1, childrenDepth: -1}
	if s == "" {
		return c, fmt.Errorf("empty selector between commas — remove the extra comma")
	}
	if s[0] == '@' {
		c.at = true
		s = s[1:]
	}
	// Prefix: N+ or +.
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits < len(s) && s[digits] == '+' {
		c.parents = true
		if digits > 0 {
			d, err := depth(s[:digits])
			if err != nil {
				return c, err
			}
			c.parentsDepth = d
		}
		s = s[digits+1:]
	}
	if c.at && c.parents {
		return c, fmt.Errorf("\"@\" cannot be combined with a \"+\" prefix — use either @x or +x")
	}
	// Suffix: + or +N, taken only at the very end so values such as
	// delete+insert stay whole.
	if strings.HasSuffix(s, "+") {
		c.children = true
		s = s[:len(s)-1]
	} else if i := strings.LastIndexByte(s, '+'); i >= 0 && i+1 < len(s) && allDigits(s[i+1:]) {
		d, err := depth(s[i+1:])
		if err != nil {
			return c, err
		}
		c.children, c.childrenDepth = true, d
		s = s[:i]
	}
	if i := strings.IndexByte(s, ':'); i > 0 && isMethodName(s[:i]) {
		c.method, c.value = s[:i], s[i+1:]
	} else {
		c.value = s
	}
	if c.value == "" {
		if c.method != "" {
			return c, fmt.Errorf("selector method %q has no value — write %s:<value>", c.method, c.method)
		}
		return c, fmt.Errorf("selector %q names nothing — write a node name or method:value", c.raw)
	}
	if err := c.checkMethod(); err != nil {
		return c, err
	}
	return c, nil
}

// checkMethod validates the method, config key and fixed-set values, and
// any glob pattern in the value.
func (c *criterion) checkMethod() error {
	switch {
	case c.method == "":
	case c.method == methodConfig:
		return fmt.Errorf("selector method \"config\" needs a key — write config.<key>:<value>, e.g. config.materialized:table")
	case strings.HasPrefix(c.method, methodConfig+"."):
		key := strings.ReplaceAll(strings.TrimPrefix(c.method, methodConfig+"."), "-", "_")
		top, _, _ := strings.Cut(key, ".")
		if _, ok := manifest.Keys[top]; !ok {
			keys := make([]string, 0, len(manifest.Keys))
			for k := range manifest.Keys {
				keys = append(keys, k)
			}
			return fmt.Errorf("unknown config key %q in selector method %q%s", top, c.method, suggest(top, keys))
		}
		c.method, c.key = methodConfig, key
	case !contains(methods, c.method):
		hint := suggest(c.method, methods[1:])
		if head, rest, ok := strings.Cut(c.method, "."); ok && diag.Suggest(head, []string{methodConfig}) == methodConfig {
			hint = fmt.Sprintf(" — did you mean %q?", methodConfig+"."+rest)
		}
		return fmt.Errorf("unknown selector method %q%s (methods: config.<key>, %s)", c.method, hint, strings.Join(methods[1:], ", "))
	case c.method == methodResourceType:
		if !contains(resourceTypes, c.value) {
			return fmt.Errorf("unknown resource type %q%s (allowed: %s)", c.value, suggest(c.value, resourceTypes), strings.Join(resourceTypes, ", "))
		}
	case c.method == methodTestType:
		if !contains(testTypes, c.value) {
			return fmt.Errorf("unknown test type %q%s (allowed: %s)", c.value, suggest(c.value, testTypes), strings.Join(testTypes, ", "))
		}
	case c.method == methodState:
		if !contains(stateValues, c.value) {
			return fmt.Errorf("unknown state selector %q%s (allowed: %s)", c.value, suggest(c.value, stateValues), strings.Join(stateValues, ", "))
		}
	case c.method == methodSource:
		if strings.Count(c.value, ".") > 2 {
			return fmt.Errorf("source selector %q has too many parts — write source:<source> or source:<source>.<table>", c.value)
		}
	}
	if _, err := path.Match(c.value, ""); err != nil {
		return fmt.Errorf("bad pattern %q — escape or balance the [ ] brackets", c.value)
	}
	return nil
}

// depth parses a graph operator depth.
func depth(s string) (int, error) {
	d, err := strconv.Atoi(s)
	if err != nil || d > 1_000_000 {
		return 0, fmt.Errorf("graph depth %q is too large — leave the number out for unlimited depth", s)
	}
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isMethodName reports whether s can be a method: word characters and dots,
// as in dbt ("config.materialized").
func isMethodName(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b == '_' || b == '.' || b == '-' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return s != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` — did you mean "x"?` for the candidate closest to s, or
// "" when none is close (see diag.Suggest).
func suggest(s string, candidates []string) string {
	if best := diag.Suggest(s, candidates); best != "" {
		return fmt.Sprintf(" — did you mean %q?", best)
	}
	return ""
}

package project

import (
	"testing"
	"unicode/utf16"

	"gopkg.in/yaml.v3"
)

// TestSettingsDigest: project.yaml's settings digest stays the same when
// only the variables change and no other entry moves, and changes with
// anything else, or whenever the vars entry cannot be cut out for certain.
func TestSettingsDigest(t *testing.T) {
	const base = "name: p\nmodels:\n  +materialized: table\nvars:\n  d: '2025-01-01'\n  n: 3\n"
	const varsFirst = "name: p\nvars:\n  n: 3\nmodels:\n  +materialized: table\n"
	for _, c := range []struct {
		name        string
		before, now string
		same        bool
	}{
		{"a value", base, "name: p\nmodels:\n  +materialized: table\nvars:\n  d: '2025-01-02'\n  n: 3\n", true},
		{"a variable added at the end", base, base + "  extra: [1, 2]\n", true},
		{"a variable removed", base, "name: p\nmodels:\n  +materialized: table\nvars:\n  n: 3\n", true},
		{"the vars entry removed", base, "name: p\nmodels:\n  +materialized: table\n", true},
		{"a vars entry added", "name: p\n", "name: p\nvars:\n  n: 1\n", true},
		{"a comment under vars", base, base + "  # why n is 3\n", true},
		{"a value, vars before other entries", varsFirst, "name: p\nvars:\n  n: 4\nmodels:\n  +materialized: table\n", true},
		{"a variable added before other entries: they move", varsFirst, "name: p\nvars:\n  n: 3\n  m: 1\nmodels:\n  +materialized: table\n", false},
		{"a folder default", base, "name: p\nmodels:\n  +materialized: view\nvars:\n  d: '2025-01-01'\n  n: 3\n", false},
		{"the name", base, "name: q\nmodels:\n  +materialized: table\nvars:\n  d: '2025-01-01'\n  n: 3\n", false},
		{"a comment above the settings", base, "# the project\n" + base, false},
		{"anchors: a value elsewhere may alias a variable", "name: p\nvars:\n  s: &s raw\nmodels:\n  +schema: *s\n",
			"name: p\nvars:\n  s: &s staged\nmodels:\n  +schema: *s\n", false},
		{"a flow root", "{name: p, vars: {n: 3}}\n", "{name: p, vars: {n: 4}}\n", false},
		{"CRLF line ends", "name: p\r\nvars:\r\n  n: 3\r\nmodels:\r\n  +materialized: table\r\n",
			"name: p\r\nvars:\r\n  n: 4\r\nmodels:\r\n  +materialized: table\r\n", true},
		{"a quoted vars key", "name: p\n\"vars\":\n  n: 3\n", "name: p\n\"vars\":\n  n: 4\n", true},
		{"a merge key under vars' neighbour", "name: p\nmodels:\n  <<: {+schema: raw}\nvars:\n  n: 3\n",
			"name: p\nmodels:\n  <<: {+schema: staged}\nvars:\n  n: 3\n", false},
		// YAML breaks lines where a split at \n does not: its line numbers
		// would cut the wrong lines (a review's find).
		{"a lone CR before vars", "name: p # a\r# b\nvars:\n  n: 3\ntarget: dev\n", "name: p # a\r# b\nvars:\n  n: 3\ntarget: prod\n", false},
		{"a NEL before vars", "name: p # a\u0085\nvars:\n  n: 3\nmodels: {+materialized: table}\n",
			"name: p # a\u0085\nvars:\n  n: 3\nmodels: {+materialized: view}\n", false},
		{"an LS in a string before vars", "name: \"p\u2028q\"\nvars:\n  n: 3\ntarget: dev\n", "name: \"p\u2028q\"\nvars:\n  n: 3\ntarget: prod\n", false},
		{"a PS before vars", "name: p # a\u2029\nvars:\n  n: 3\ntarget: dev\n", "name: p # a\u2029\nvars:\n  n: 3\ntarget: prod\n", false},
		{"a UTF-8 BOM", "\ufeffname: p\nvars:\n  n: 3\ntarget: dev\n", "\ufeffname: p\nvars:\n  n: 4\ntarget: dev\n", true},
		// UTF-16's bytes may hold \n (0x0A) in any character, and "vars"
		// in two (another review's find).
		{"UTF-16", utf16le("name: p\ntarget: \"dev\u010a\u6176\u7372" + "1\"\nvars:\n  n: 3\n  m: 4\nmodels: x\n"),
			utf16le("name: p\ntarget: \"dev\u010a\u6176\u7372" + "2\"\nvars:\n  n: 3\n  m: 4\nmodels: x\n"), false},
		{"a lone CR, vars edited", "name: p # a\r# b\nvars:\n  n: 3\n", "name: p # a\r# b\nvars:\n  n: 4\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := digestOf(t, c.before) == digestOf(t, c.now); got != c.same {
				t.Fatalf("same digest = %v, want %v", got, c.same)
			}
		})
	}
}

// utf16le is s in UTF-16LE with a byte order mark.
func utf16le(s string) string {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func digestOf(t *testing.T, text string) [32]byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return settingsDigest([]byte(text), deref(doc.Content[0]))
}

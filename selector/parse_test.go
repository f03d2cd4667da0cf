package selector

import (
	"fmt"
	"slices"
	"testing"
)

func TestParseCriterion(t *testing.T) {
	tests := []struct {
		in   string
		want string // at parents/depth children/depth method key value
	}{
		{"stg_x", "false false/-1 false/-1 '' '' stg_x"},
		{"+stg_x", "false true/-1 false/-1 '' '' stg_x"},
		{"3+stg_x", "false true/3 false/-1 '' '' stg_x"},
		{"stg_x+", "false false/-1 true/-1 '' '' stg_x"},
		{"stg_x+2", "false false/-1 true/2 '' '' stg_x"},
		{"2+stg_x+1", "false true/2 true/1 '' '' stg_x"},
		{"@stg_x", "true false/-1 false/-1 '' '' stg_x"},
		{"@tag:a+", "true false/-1 true/-1 'tag' '' a"},
		{"2023_sales", "false false/-1 false/-1 '' '' 2023_sales"},
		{"tag:nightly", "false false/-1 false/-1 'tag' '' nightly"},
		{"config.materialized:table", "false false/-1 false/-1 'config' 'materialized' table"},
		{"config.on-schema-change:fail", "false false/-1 false/-1 'config' 'on_schema_change' fail"},
		{"config.meta.owner:a", "false false/-1 false/-1 'config' 'meta.owner' a"},
		{"config.incremental_strategy:delete+insert", "false false/-1 false/-1 'config' 'incremental_strategy' delete+insert"},
		{"config.incremental_strategy:delete+insert+", "false false/-1 true/-1 'config' 'incremental_strategy' delete+insert"},
		{"path:models/a:b", "false false/-1 false/-1 'path' '' models/a:b"},
		{"models/x.sql", "false false/-1 false/-1 '' '' models/x.sql"},
		{"state:modified+", "false false/-1 true/-1 'state' '' modified"},
		{"source:raw.events", "false false/-1 false/-1 'source' '' raw.events"},
	}
	for _, tc := range tests {
		c, err := parseCriterion(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got := fmt.Sprintf("%v %v/%d %v/%d '%s' '%s' %s", c.at, c.parents, c.parentsDepth, c.children, c.childrenDepth, c.method, c.key, c.value)
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestParseArgTerms(t *testing.T) {
	terms, err := parseArg("--select", "  a,tag:b   +c\td+ ")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range terms {
		got = append(got, fmt.Sprintf("%s/%d", tm.raw, len(tm.parts)))
	}
	if want := []string{"a,tag:b/2", "+c/1", "d+/1"}; !slices.Equal(got, want) {
		t.Fatalf("terms = %v, want %v", got, want)
	}
}

// FuzzSelect checks that no selector text makes parsing or selection panic,
// and that any result is sorted, free of duplicates and made of manifest
// nodes.
func FuzzSelect(f *testing.F) {
	for _, s := range []string{
		"stg_x", "+a", "3+a+2", "@a", "@+a", "a,b c", "tag:x,config.materialized:table",
		"config.meta.owner:x", "path:models/*", "source:raw.events+", "state:modified+",
		"a,,b", "[", "stg_[", "+", "@", "9999999999999999999+a", "resource_type:model",
		"config.:x", "config..x:y", ":x", "a:", "fqn:*.x", "models/../x", "\\", "a+b+",
	} {
		f.Add(s, "")
		f.Add("", s)
	}
	m := testManifest()
	g := Graph(m)
	state := stateManifest()
	f.Fuzz(func(t *testing.T, include, exclude string) {
		_, _ = parseArg("--select", include)
		got, err := Select(m, g, []string{include}, []string{exclude}, state)
		if err != nil {
			return
		}
		for i, id := range got {
			if m.Nodes[id] == nil {
				t.Fatalf("%q: %s is not a node", include, id)
			}
			if i > 0 && got[i-1] >= id {
				t.Fatalf("%q: result not sorted and unique: %v", include, got)
			}
		}
	})
}

package project

import (
	"sort"

	"github.com/elt-dev/elt/diag"
)

// suggest returns the candidate closest to word, or "" (see diag.Suggest).
func suggest(word string, candidates []string) string { return diag.Suggest(word, candidates) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedCopy(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package dag

import (
	"slices"
	"strings"
)

// entry pairs a node id with its index for sorting.
type entry struct {
	name string
	i    int32
}

// sortEntries sorts es by name with a most-significant-byte radix sort that
// falls back to a comparison sort for small buckets. Ids share long
// prefixes ("model.stg_…"), which makes plain comparison sorts of 100k ids
// spend most of their time re-comparing those prefixes.
func sortEntries(es []entry) {
	tmp := make([]entry, len(es))
	radix(es, tmp, 0)
}

// radix sorts es, whose names all share their first d bytes, using tmp
// (len(tmp) >= len(es)) as scratch space.
func radix(es, tmp []entry, d int) {
	for {
		if len(es) <= 48 {
			slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.name[d:], b.name[d:]) })
			return
		}
		var count [257]int
		for _, e := range es {
			count[key(e.name, d)]++
		}
		// Skip a byte every name shares without moving anything.
		if k := key(es[0].name, d); k != 0 && count[k] == len(es) {
			d++
			continue
		}
		var start [257]int
		sum := 0
		for k, c := range count {
			start[k] = sum
			sum += c
		}
		next := start
		for _, e := range es {
			k := key(e.name, d)
			tmp[next[k]] = e
			next[k]++
		}
		copy(es, tmp[:len(es)])
		// Bucket 0 holds names that end at d: all equal, already in place.
		for k := 1; k < 257; k++ {
			if count[k] > 1 {
				radix(es[start[k]:start[k]+count[k]], tmp, d+1)
			}
		}
		return
	}
}

// key is the sort key of byte d of s: 0 when s ends before d, else byte+1.
func key(s string, d int) int {
	if d < len(s) {
		return int(s[d]) + 1
	}
	return 0
}

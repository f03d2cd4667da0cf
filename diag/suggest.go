package diag

import (
	"sort"
	"strings"
)

// Suggest returns the candidate closest to word by edit distance, ignoring
// case, or "" when none is close enough to be a plausible typo: the distance
// must be at most max(2, len(word)/3); a candidate equal to word wins. Ties
// go to the alphabetically first candidate, so the answer is stable. Words
// over 64 runes are never matched, which keeps the cost bounded on
// arbitrary input.
func Suggest(word string, candidates []string) string {
	if len(word) > 64 {
		return ""
	}
	limit := max(2, len(word)/3)
	lw := strings.ToLower(word)
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", -1
	for _, c := range sorted {
		if len(c) > 64 {
			continue
		}
		d := editDistance(lw, strings.ToLower(c))
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b,
// by rune: insertions, deletions, substitutions and adjacent swaps cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

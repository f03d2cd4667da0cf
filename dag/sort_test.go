package dag

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortEntries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"", "a", "b", "model.", "model.stg_", "\xff", "\x00", "z"}
	for round := range 50 {
		n := r.IntN(400)
		es := make([]entry, n)
		want := make([]string, n)
		for i := range es {
			s := ""
			for range r.IntN(5) {
				s += alphabet[r.IntN(len(alphabet))]
			}
			es[i] = entry{s, int32(i)}
			want[i] = s
		}
		sortEntries(es)
		slices.Sort(want)
		for i := range es {
			if es[i].name != want[i] {
				t.Fatalf("round %d: position %d = %q, want %q", round, i, es[i].name, want[i])
			}
		}
	}
}

package diag

import "testing"

func TestSuggest(t *testing.T) {
	names := []string{"stg_payments", "stg_orders", "columns", "tag", "materialized"}
	for _, c := range []struct{ word, want string }{
		{"stg_paymnts", "stg_payments"},
		{"colums", "columns"},
		{"tagg", "tag"},
		{"materialised", "materialized"},
		{"MATERIALIZED", "materialized"},
		{"stg_orders", "stg_orders"},
		{"xyz_unrelated", ""},
		{"", ""},
	} {
		if got := Suggest(c.word, names); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := Suggest("ab", []string{"ba", "ab_"}); got != "ab_" {
		t.Errorf("ties go to the alphabetically first: got %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"héllo", "hello", 1}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

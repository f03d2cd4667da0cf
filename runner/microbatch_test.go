package runner

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDueIntervals checks which intervals a microbatch run builds.
func TestDueIntervals(t *testing.T) {
	done := map[time.Time]bool{day("2025-01-01"): true, day("2025-01-02"): true, day("2025-01-04"): true}
	starts := func(ivs []Interval) []string {
		var out []string
		for _, iv := range ivs {
			out = append(out, iv.Start.Format("01-02T15"))
		}
		return out
	}
	tests := []struct {
		name     string
		begin    string
		now      string
		size     string
		lookback int
		bf       *Backfill
		full     bool
		want     []string
	}{
		{"fills gaps up to the last complete day", "2025-01-01", "2025-01-06 13:00:00", "day", 0, nil, false, []string{"01-03T00", "01-05T00"}},
		{"lookback redoes the last ones", "2025-01-01", "2025-01-06 13:00:00", "day", 2, nil, false, []string{"01-03T00", "01-04T00", "01-05T00"}},
		{"full refresh redoes all", "2025-01-01", "2025-01-04", "day", 0, nil, true, []string{"01-01T00", "01-02T00", "01-03T00"}},
		{"backfill window, inclusive", "2025-01-01", "2025-02-01", "day", 5, &Backfill{Start: day("2025-01-02"), End: day("2025-01-05")}, false, []string{"01-03T00", "01-05T00"}},
		{"restate", "2025-01-01", "2025-02-01", "day", 0, &Backfill{Start: day("2025-01-02"), End: day("2025-01-03"), Restate: true}, false, []string{"01-02T00", "01-03T00"}},
		{"hours", "2025-01-03 22:30:00", "2025-01-04 01:10:00", "hour", 0, nil, false, []string{"01-03T22", "01-03T23", "01-04T00"}},
		{"months", "2024-12-15", "2025-03-02", "month", 0, nil, false, []string{"12-01T00", "01-01T00", "02-01T00"}},
	}
	for _, tt := range tests {
		d := done
		if tt.size != "day" {
			d = nil // the done days would collide with these starts
		}
		got := starts(DueIntervals(day(tt.begin), day(tt.now), tt.size, tt.lookback, tt.bf, tt.full, d))
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

// TestTransient checks which errors are retried.
func TestTransient(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"IO Error: Could not read file", true},
		{"TransactionContext Error: Catalog write-write conflict on alter", true},
		{"database x is in use: Could not set lock on file", true},
		{"target/compiled/a.sql:2: Binder Error: Referenced column \"conflict\" not found", false},
		{"Parser Error: syntax error at or near \"IO Error\"", false},
		{"Conversion Error: Could not convert string 'x' to INT32", false},
	}
	for _, tt := range tests {
		if got := Transient(tt.msg); got != tt.want {
			t.Errorf("Transient(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

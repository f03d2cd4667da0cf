package manifest

import (
	"testing"
	"time"
)

func TestParseWatermark(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"20 minutes", 20 * time.Minute, false},
		{"1 hour", time.Hour, false},
		{"2 days", 48 * time.Hour, false},
		{"30 seconds", 30 * time.Second, false},
		{"1.5 hours", 90 * time.Minute, false},
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{" 10 Minutes ", 10 * time.Minute, false},
		{"soon", 0, true},
		{"10 fortnights", 0, true},
		{"0s", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseWatermark(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseWatermark(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

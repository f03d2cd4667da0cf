package cmd

import "testing"

// TestApplyGC: elt's settings apply unless the user's environment sets
// them.
func TestApplyGC(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"defaults", nil, gcPercent, gcSoftLimit},
		{"GOGC set", map[string]string{"GOGC": "100"}, -1, gcSoftLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "4GiB"}, gcPercent, -1},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "4GiB"}, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			percent, limit := -1, int64(-1)
			applyGC(func(k string) string { return tt.env[k] },
				func(p int) int { percent = p; return 100 },
				func(l int64) int64 { limit = l; return 0 })
			if percent != tt.wantPercent || limit != tt.wantLimit {
				t.Errorf("set GC percent %d and limit %d, want %d and %d", percent, limit, tt.wantPercent, tt.wantLimit)
			}
		})
	}
}

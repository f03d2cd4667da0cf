package manifest

import "testing"

func TestTestStatus(t *testing.T) {
	tests := []struct {
		cfg  Config
		n    int64
		want string
	}{
		{Config{Severity: "error"}, 0, "pass"},
		{Config{Severity: "error"}, 1, "fail"},
		{Config{Severity: "warn"}, 3, "warn"},
		{Config{Severity: "warn"}, 0, "pass"},
		{Config{Severity: "error", ErrorIf: ">10", WarnIf: ">0"}, 5, "warn"},
		{Config{Severity: "error", ErrorIf: ">10", WarnIf: ">0"}, 11, "fail"},
		{Config{Severity: "error", ErrorIf: ">=2", WarnIf: ">5"}, 1, "pass"},
		{Config{Severity: "error", ErrorIf: "== 0"}, 0, "fail"},
		{Config{Severity: "error", ErrorIf: "<>3"}, 3, "warn"},
	}
	for _, tt := range tests {
		got, err := TestStatus(tt.cfg, tt.n)
		if err != nil || got != tt.want {
			t.Errorf("TestStatus(%+v, %d) = %q, %v; want %q", tt.cfg, tt.n, got, err, tt.want)
		}
	}
	if _, err := TestStatus(Config{WarnIf: "more than 3"}, 1); err == nil {
		t.Error("a malformed warn_if is accepted")
	}
}

package cmd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elt-dev/elt/runner"
)

// TestCommitIntervalsAfterEnv: ELT_COMMIT_INTERVALS_AFTER sets how long
// microbatch intervals share a transaction; unset or empty is the default,
// anything but a non-negative duration a usage error naming the variable.
func TestCommitIntervalsAfterEnv(t *testing.T) {
	cases := []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"", runner.DefaultCommitIntervalsAfter, false},
		{"0", 0, false},
		{"250ms", 250 * time.Millisecond, false},
		{"1h", time.Hour, false},
		{"soon", 0, true},
		{"-1s", 0, true},
		{"5", 0, true}, // a bare number is not a Go duration
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(CommitIntervalsEnv, c.env)
			a := &app{}
			opts, err := a.runOptions(&session{a: a, started: time.Now()}, runner.Options{})
			if c.wantErr {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), CommitIntervalsEnv) {
					t.Fatalf("err = %v, want a usage error naming %s", err, CommitIntervalsEnv)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.CommitIntervalsAfter != c.want {
				t.Fatalf("CommitIntervalsAfter = %v, want %v", opts.CommitIntervalsAfter, c.want)
			}
		})
	}
}

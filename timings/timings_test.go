package timings

import (
	"io"
	"os"
	"regexp"
	"testing"
)

func TestStartPrintsOnlyWhenEnabled(t *testing.T) {
	capture := func(on bool) string {
		t.Helper()
		old, oldErr := enabled, os.Stderr
		defer func() { enabled, os.Stderr = old, oldErr }()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		enabled, os.Stderr = on, w
		Start("phase one")()
		w.Close()
		out, _ := io.ReadAll(r)
		return string(out)
	}
	if got := capture(false); got != "" {
		t.Errorf("disabled: printed %q", got)
	}
	if got := capture(true); !regexp.MustCompile(`^elt timings: phase one +\d+\.\d ms\n$`).MatchString(got) {
		t.Errorf("enabled: printed %q", got)
	}
}

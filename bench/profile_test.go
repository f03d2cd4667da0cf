package bench

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/elt-dev/elt/cmd"
)

// TestProfileCommand runs one elt command in-process on the project in
// $ELT_PROFILE_DIR, so that go test's -cpuprofile and -memprofile profile
// it; it is skipped when the variable is unset. For example:
//
//	go run ./bench/eltgen -models 10000 /tmp/p10k
//	ELT_PROFILE_DIR=/tmp/p10k go test ./bench -run TestProfileCommand -count 1 -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out
//
// $ELT_PROFILE_CMD is the verb (default compile).
func TestProfileCommand(t *testing.T) {
	dir := os.Getenv("ELT_PROFILE_DIR")
	if dir == "" {
		t.Skip("set ELT_PROFILE_DIR to a project to profile")
	}
	verb := os.Getenv("ELT_PROFILE_CMD")
	if verb == "" {
		verb = "compile"
	}
	if code := cmd.MainContext(context.Background(), []string{verb, "--project-dir", dir}, nil, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("elt %s exited %d", verb, code)
	}
}

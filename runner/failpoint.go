package runner

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FailpointEnv names the environment variable that arms failpoints, for
// crash and failure tests: a comma-separated list of NAME[@N][=ACTION],
// where the N-th hit of NAME (1 when omitted) triggers ACTION: "kill"
// (default) sends SIGKILL to the elt process itself, "error" fails the
// step with an error, "transient" fails each of the first N hits with an
// error that looks like a DuckDB I/O error (so retries apply). Points:
// node-plan (every node's build), node-staged (a table built in two
// transactions, after the first committed its staging table), interval-after-build,
// interval-before-commit, interval-after-commit, external-before-move,
// stream-before-commit (inside a micro-batch's transaction, after all its
// work), stream-after-commit.
const FailpointEnv = "ELT_FAILPOINT"

type failpointSpec struct {
	at     int
	action string
	hits   int
}

var (
	failMu    sync.Mutex
	failSpecs map[string]*failpointSpec
	failOnce  sync.Once
)

// armFailpoints parses spec (the FailpointEnv syntax), replacing every
// armed failpoint. Tests call it directly.
func armFailpoints(spec string) {
	failOnce.Do(func() {})
	setFailpoints(spec)
}

func setFailpoints(spec string) {
	failMu.Lock()
	defer failMu.Unlock()
	failSpecs = map[string]*failpointSpec{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, action, _ := strings.Cut(part, "=")
		if action == "" {
			action = "kill"
		}
		at := 1
		if n, count, ok := strings.Cut(name, "@"); ok {
			name = n
			if v, err := strconv.Atoi(count); err == nil && v > 0 {
				at = v
			}
		}
		failSpecs[name] = &failpointSpec{at: at, action: action}
	}
}

// errInjected is the error of an "error" failpoint.
var errInjected = errors.New("injected failure (" + FailpointEnv + ")")

// failpoint counts a hit of the named point and, when it is armed for this
// hit, kills the process or returns an error. Unarmed, it returns nil.
func failpoint(name string) error {
	failOnce.Do(func() { setFailpoints(os.Getenv(FailpointEnv)) })
	failMu.Lock()
	s := failSpecs[name]
	if s == nil {
		failMu.Unlock()
		return nil
	}
	s.hits++
	fire := s.hits == s.at || (s.action == "transient" && s.hits < s.at)
	failMu.Unlock()
	if !fire {
		return nil
	}
	switch s.action {
	case "error":
		return errInjected
	case "transient":
		return errors.New("IO Error: injected transient failure (" + FailpointEnv + ")")
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
	}
	time.Sleep(time.Minute) // the kill arrives first
	return errInjected
}

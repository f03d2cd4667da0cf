package cmd

import (
	"os"
	"runtime/debug"
)

// Garbage collector settings for elt's short-lived processes, whose Go heap
// is mostly the parsed project: collecting when the heap has grown by four
// times its live size instead of twice takes about 15% off compiling
// 10,000 models, and the soft limit keeps a 100,000-model compile under
// 1 GiB of resident memory (930 MiB; 1.2 GiB with Go's defaults, 1.8 GiB
// with GOGC=400 alone; the collector works harder as the heap nears the
// limit, which costs that compile about 10%). DuckDB's memory is its own
// and counts toward neither.
const (
	gcPercent   = 400
	gcSoftLimit = 900 << 20
)

// TuneGC applies elt's garbage collector settings, except where the
// user's GOGC or GOMEMLIMIT, which Go reads itself, says otherwise.
// Serving lifts the soft limit again (serve.TuneGC): its index is meant to
// stay live.
func TuneGC() { applyGC(os.Getenv, debug.SetGCPercent, debug.SetMemoryLimit) }

func applyGC(getenv func(string) string, setPercent func(int) int, setLimit func(int64) int64) {
	if getenv("GOGC") == "" {
		setPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		setLimit(gcSoftLimit)
	}
}

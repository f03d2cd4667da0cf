// Package timings reports how long the phases of an elt command take, for
// profiling elt itself. It is off unless the environment variable
// ELT_TIMINGS is set, in which case each finished phase prints one line,
// "elt timings: <phase> <duration>", to standard error. Off, a phase costs
// one branch. ELT_CPUPROFILE=FILE writes a CPU profile of the whole
// command to FILE (see CPUProfile).
package timings

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// CPUProfile starts a CPU profile into the file named by ELT_CPUPROFILE,
// when set, and returns the function that ends it; a profile that cannot
// be started is reported on standard error and the command goes on.
func CPUProfile() (stop func()) {
	path := os.Getenv("ELT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "elt: ELT_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// HeapProfile writes a heap profile of the live objects into the file
// named by ELT_MEMPROFILE, when set; the compiler calls it where its heap
// peaks. A failure is reported on standard error and the command goes on.
func HeapProfile() {
	path := os.Getenv("ELT_MEMPROFILE")
	if path == "" {
		return
	}
	runtime.GC() // the profile shows the objects live now
	f, err := os.Create(path)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "elt: ELT_MEMPROFILE: %v\n", err)
	}
}

// enabled is read once at start-up: phases are timed for the whole process
// or not at all.
var enabled = os.Getenv("ELT_TIMINGS") != ""

// Start begins timing the phase name; calling the returned function ends it
// and prints its wall time when timings are enabled.
func Start(name string) func() {
	if !enabled {
		return func() {}
	}
	t0 := time.Now()
	return func() {
		fmt.Fprintf(os.Stderr, "elt timings: %-28s %8.1f ms\n", name, float64(time.Since(t0).Microseconds())/1000)
	}
}

// Note prints "elt timings: " and the formatted text to standard error when
// timings are enabled: a count that explains a phase's time.
func Note(format string, args ...any) {
	if enabled {
		fmt.Fprintf(os.Stderr, "elt timings: "+format+"\n", args...)
	}
}

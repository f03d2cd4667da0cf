//go:build unix

package bench

import "syscall"

// settleDisk writes dirty pages back before a measured run, so the run
// does not pay for the previous one's file writes (creating 10,000
// compiled files leaves seconds of ext4 writeback behind).
func settleDisk() { syscall.Sync() }

//go:build !unix

package bench

// settleDisk is a no-op where there is no sync(2).
func settleDisk() {}

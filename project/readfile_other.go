//go:build !unix

package project

import "os"

// readFile reads a whole file; buf is unused here.
func readFile(name string, buf []byte) ([]byte, error) { return os.ReadFile(name) }

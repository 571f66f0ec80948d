//go:build !unix

package find

import "os"

// MapFile reads a file into memory (no mapping on this system).
func MapFile(path string) ([]byte, error) { return os.ReadFile(path) }

// UnmapFile releases what MapFile read (nothing to do here).
func UnmapFile([]byte) {}

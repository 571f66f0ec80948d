//go:build unix

package find

import (
	"os"
	"syscall"
)

// MapFile maps a file into memory for reading. The mapping is private and writable,
// so a stray write changes only this process's copy, never the file. It is never
// unmapped: indexes loaded from it point into it for as long as the process lives (the
// file is replaced by rename, never rewritten in place, so the mapping stays valid).
func MapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		return os.ReadFile(path)
	}
	return syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|mapPopulate)
}

// mapPopulate asks the kernel to fault the whole mapping in at once where it can
// (Linux), rather than page by page as the index is checked.
var mapPopulate = 0

// UnmapFile releases a mapping made by MapFile that nothing uses (a snapshot found stale
// or damaged). Memory MapFile did not map is left alone.
func UnmapFile(b []byte) { _ = syscall.Munmap(b) }

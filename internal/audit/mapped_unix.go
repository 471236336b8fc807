//go:build unix

package audit

import (
	"os"
	"syscall"
)

// mapFile maps a regular file read-only; ok is false for anything else.
func mapFile(f *os.File) (data []byte, unmap func(), ok bool) {
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() <= 0 || int64(int(info.Size())) != info.Size() {
		return nil, nil, false
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(info.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	// Read ahead more, as for a file read from start to end.
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return data, func() { _ = syscall.Munmap(data) }, true
}

// releaseMapped gives back the pages of part of a mapped file: they are
// read again from the page cache if touched.
func releaseMapped(part []byte) { _ = syscall.Madvise(part, syscall.MADV_DONTNEED) }

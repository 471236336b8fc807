//go:build unix

package audit

import (
	"os"
	"sync"
	"syscall"
	"unsafe"
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

// releasePages gives back the pages of the file that lie before the first
// chunk not yet decoded. Chunks are decoded out of order, so one is only
// noted as done until all before it are: a page given back while a chunk on
// it was still read would be mapped again, and its neighbours with it.
func releasePages(data []byte) func(chunk []byte) {
	var mu sync.Mutex
	released := 0         // data before this offset is given back
	done := map[int]int{} // decoded chunks past it, start to end
	page := os.Getpagesize()
	return func(chunk []byte) {
		mu.Lock()
		defer mu.Unlock()
		start := int(uintptr(unsafe.Pointer(unsafe.SliceData(chunk))) - uintptr(unsafe.Pointer(unsafe.SliceData(data))))
		done[start] = start + len(chunk)
		from := released / page * page
		for end, ok := done[released]; ok; end, ok = done[released] {
			delete(done, released)
			released = end
		}
		to := released / page * page
		if released == len(data) {
			to = len(data)
		}
		if from < to {
			_ = syscall.Madvise(data[from:to], syscall.MADV_DONTNEED)
		}
	}
}

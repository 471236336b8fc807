package audit

import (
	"bytes"
	"errors"
	"os"
	"runtime/debug"
	"unsafe"
)

// ErrFileShrank reports a file that was cut shorter while it was read in
// place (see StreamFile), as by a log rotation that truncates it.
var ErrFileShrank = errors.New("the file was truncated while it was read")

// StreamFile is Stream for a file. A regular file is mapped into memory and
// its lines are decoded where they are: the kernel does not copy them into
// buffers first, which saves a fifth of the work of decoding a large log.
// Pages are given back once decoded, so memory holds only the chunks in
// flight. What cannot be mapped (a pipe, an empty file, a system without
// mmap) is read with Stream.
//
// A mapped file is read as long as it was when the stream started: lines
// written later are not read. A file truncated under the mapping stops the
// stream with ErrFileShrank.
func StreamFile(f *os.File, opts StreamOptions, sink func([]Event)) (StreamStats, error) {
	data, unmap, ok := mapFile(f)
	if !ok {
		return Stream(f, opts, sink)
	}
	defer unmap()
	opts = opts.withDefaults()
	var single bool
	if err := readingMapped(data, func() { single = isSingleDocument(data[:min(len(data), chunkBytes)]) }); err != nil {
		return StreamStats{}, err
	}
	var stats StreamStats
	var err error
	if single {
		var events []Event
		if fault := readingMapped(data, func() { events, stats, err = decodeDocument(data, opts) }); fault != nil {
			return stats, fault
		}
		if len(events) > 0 {
			sink(events)
		}
	} else {
		stats, err = decodeChunks(opts, sink, data,
			func(out chan<- []byte) (StreamStats, error) {
				return StreamStats{Bytes: int64(len(data))}, readingMapped(data, func() { splitMapped(data, out) })
			},
			releasePages(data))
	}
	// A file cut within its last page reads as zeros, not as a fault.
	if info, statErr := f.Stat(); err == nil && statErr == nil && info.Size() < int64(len(data)) {
		err = ErrFileShrank
	}
	return stats, err
}

// splitMapped sends data in chunks of whole lines, each about chunkBytes
// long, or one line when a line is longer.
func splitMapped(data []byte, out chan<- []byte) {
	for len(data) > 0 {
		end := len(data)
		if end > chunkBytes {
			if i := bytes.LastIndexByte(data[:chunkBytes], '\n'); i >= 0 {
				end = i + 1
			} else if i := bytes.IndexByte(data[chunkBytes:], '\n'); i >= 0 {
				end = chunkBytes + i + 1
			}
		}
		out <- data[:end]
		data = data[end:]
	}
}

// readingMapped runs fn, which reads mapping, a file mapped into memory,
// and turns a fault in the mapping (the file was truncated) into
// ErrFileShrank. Other panics, faults elsewhere included, go on.
func readingMapped(mapping []byte, fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fault, ok := r.(interface{ Addr() uintptr })
		if !ok {
			panic(r)
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(mapping)))
		if addr := fault.Addr(); addr < start || addr-start >= uintptr(len(mapping)) {
			panic(r)
		}
		err = ErrFileShrank
	}()
	fn()
	return nil
}

package audit

import (
	"bytes"
	"errors"
	"os"
	"runtime/debug"
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
	if err := readingMapped(func() { single = isSingleDocument(data[:min(len(data), chunkBytes)]) }); err != nil {
		return StreamStats{}, err
	}
	if single {
		var stats StreamStats
		var err error
		if fault := readingMapped(func() { stats, err = streamDocument(bytes.NewReader(data), opts, sink) }); fault != nil {
			return stats, fault
		}
		return stats, err
	}
	return decodeChunks(opts, sink, true,
		func(out chan<- []byte) (StreamStats, error) {
			return StreamStats{Bytes: int64(len(data))}, readingMapped(func() { splitMapped(data, out) })
		},
		releasePages(data))
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

// readingMapped runs fn, which reads a file mapped into memory, and turns a
// fault there (the file was truncated) into ErrFileShrank.
func readingMapped(fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		// A fault at an address has one; other panics go on.
		if _, fault := r.(interface{ Addr() uintptr }); !fault {
			panic(r)
		}
		err = ErrFileShrank
	}()
	fn()
	return nil
}

package audit

import (
	"bytes"
	"errors"
	"os"
	"runtime/debug"
	"sync"
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
		window := newMappedWindow(data)
		stats, err = decodeChunks(opts, sink, data,
			func(out chan<- []byte) (StreamStats, error) {
				return StreamStats{Bytes: int64(len(data))}, readingMapped(data, func() { splitMapped(window, out) })
			},
			window.decoded)
	}
	// A file cut within its last page reads as zeros, not as a fault.
	if info, statErr := f.Stat(); err == nil && statErr == nil && info.Size() < int64(len(data)) {
		err = ErrFileShrank
	}
	return stats, err
}

// splitMapped sends the mapped file in chunks of whole lines, each about
// chunkBytes long, or one line when a line is longer. It sends a chunk only
// once the window has room for it.
func splitMapped(w *mappedWindow, out chan<- []byte) {
	data := w.data
	for start := 0; start < len(data); {
		end := len(data)
		if end-start > chunkBytes {
			if i := bytes.LastIndexByte(data[start:start+chunkBytes], '\n'); i >= 0 {
				end = start + i + 1
			} else if i := bytes.IndexByte(data[start+chunkBytes:], '\n'); i >= 0 {
				end = start + chunkBytes + i + 1
			}
		}
		w.waitForRoom(start)
		out <- data[start:end]
		start = end
	}
}

// maxMappedAhead bounds how much of a mapped file past the first chunk not
// yet decoded may be handed out. Chunks are decoded out of order: while one
// worker is held up (by the scheduler, or the collector taking its core), the
// others would otherwise go on mapping the file in, tens of megabytes in a
// few milliseconds. Sixteen chunks keep every worker busy.
const maxMappedAhead = 16 * chunkBytes

// releaseBatch is how much of a mapped file is given back at once, at
// least: each time, the kernel interrupts the other cores to drop the pages
// from their address translations.
const releaseBatch = 4 * chunkBytes

// mappedWindow follows which chunks of a mapped file are decoded. It gives
// back the pages before the first chunk not yet decoded, releaseBatch at a
// time, and holds the splitter back while it is more than maxMappedAhead
// behind.
type mappedWindow struct {
	data      []byte
	mu        sync.Mutex
	advanced  *sync.Cond
	decodedTo int         // data before this offset is decoded
	done      map[int]int // decoded chunks past it, start to end
	givenBack int         // data before this offset is given back
}

func newMappedWindow(data []byte) *mappedWindow {
	w := &mappedWindow{data: data, done: map[int]int{}}
	w.advanced = sync.NewCond(&w.mu)
	return w
}

// decoded notes a chunk of the file as decoded. A page is given back only
// once every chunk on it is: a page given back while a chunk on it is still
// read would be mapped again, and its neighbours with it.
func (w *mappedWindow) decoded(chunk []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(chunk))) - uintptr(unsafe.Pointer(unsafe.SliceData(w.data))))
	w.done[start] = start + len(chunk)
	before := w.decodedTo
	for end, ok := w.done[w.decodedTo]; ok; end, ok = w.done[w.decodedTo] {
		delete(w.done, w.decodedTo)
		w.decodedTo = end
	}
	if w.decodedTo == before {
		return
	}
	w.advanced.Broadcast()
	page := os.Getpagesize()
	to := w.decodedTo / page * page
	if w.decodedTo == len(w.data) {
		to = len(w.data)
	}
	if to-w.givenBack >= releaseBatch || to == len(w.data) {
		releaseMapped(w.data[w.givenBack:to])
		w.givenBack = to
	}
}

// waitForRoom returns once the chunk starting at offset start is at most
// maxMappedAhead past the first chunk not yet decoded.
func (w *mappedWindow) waitForRoom(start int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for start-w.decodedTo > maxMappedAhead {
		w.advanced.Wait()
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

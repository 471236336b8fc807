package audit

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	// DefaultMaxLineBytes is the longest line Stream decodes; longer lines are
	// counted as oversized and skipped.
	DefaultMaxLineBytes = 8 << 20
	// maxDocumentBytes bounds a single-document input (a pretty-printed
	// EventList), which has to be held whole.
	maxDocumentBytes = 1 << 30
	// chunkBytes is how much is read at once and handed to a worker. A few
	// chunks are in flight per worker; at a quarter of a megabyte they hold
	// a few hundred lines each, enough to make handing them over cheap, and
	// little memory.
	chunkBytes = 1 << 18
)

// StreamOptions tune Stream.
type StreamOptions struct {
	// Workers decoding in parallel; zero means GOMAXPROCS.
	Workers int
	// MaxLineBytes is the longest line decoded; zero means DefaultMaxLineBytes.
	MaxLineBytes int
	// SkipSystemUsers sets Decoder.SkipSystemUsers, for consumers that ignore
	// system users.
	SkipSystemUsers bool
}

// StreamStats count what Stream read.
type StreamStats struct {
	// Bytes read from the input.
	Bytes int64
	// Lines that were not empty (a single-document input counts as one).
	Lines int64
	// Events decoded.
	Events int64
	// Malformed lines or list items that could not be decoded.
	Malformed int64
	// Oversized lines longer than MaxLineBytes, skipped.
	Oversized int64
}

// Add adds the counts of o, to total several streams.
func (s *StreamStats) Add(o StreamStats) {
	s.Bytes += o.Bytes
	s.Lines += o.Lines
	s.Events += o.Events
	s.Malformed += o.Malformed
	s.Oversized += o.Oversized
}

// Stream decodes the audit events in r and hands them to sink in batches. The
// input is JSON lines as kube-apiserver's log backend writes them (each line
// an Event, or an EventList), or one JSON document: an EventList or an array
// of events, pretty-printed or not.
//
// Lines are decoded by several workers, so batches arrive in no particular
// order. RequestReceived events are decoded only up to their stage (see
// Decoder.SkipRequestReceived); sink is called from one goroutine at a time and must not keep the
// batch slice (the events' contents it may keep). A malformed line is counted
// and skipped; only a read error stops the stream.
func Stream(r io.Reader, opts StreamOptions, sink func([]Event)) (StreamStats, error) {
	opts = opts.withDefaults()
	first := make([]byte, chunkBytes)
	n, err := io.ReadFull(r, first)
	first = first[:n]
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return StreamStats{}, err
	}
	if isSingleDocument(first) {
		return streamDocument(io.MultiReader(bytes.NewReader(first), r), opts, sink)
	}
	return streamLines(io.MultiReader(bytes.NewReader(first), r), opts, sink)
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	return o
}

// isSingleDocument tells a whole-document input from JSON lines by its first
// line: a JSON-lines file starts with a complete object on one line.
func isSingleDocument(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && head[0] == '[' {
		return true
	}
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	} else {
		return false
	}
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] == '{' && line[len(line)-1] != '}'
}

// newStreamDecoder returns a decoder that stops early on events a stream's
// consumer does not need, and hands out the strings of shared.
func newStreamDecoder(opts StreamOptions, shared *internTable) *Decoder {
	dec := newSharingDecoder(shared)
	dec.SkipRequestReceived = true
	dec.SkipSystemUsers = opts.SkipSystemUsers
	return dec
}

func streamDocument(r io.Reader, opts StreamOptions, sink func([]Event)) (StreamStats, error) {
	doc, err := io.ReadAll(io.LimitReader(r, maxDocumentBytes+1))
	if err != nil {
		return StreamStats{}, err
	}
	events, stats, err := decodeDocument(doc, opts)
	if len(events) > 0 {
		sink(events)
	}
	return stats, err
}

// decodeDocument decodes a single-document input.
func decodeDocument(doc []byte, opts StreamOptions) ([]Event, StreamStats, error) {
	stats := StreamStats{Bytes: int64(len(doc)), Lines: 1}
	if len(doc) > maxDocumentBytes {
		return nil, stats, fmt.Errorf("a single JSON document larger than %d bytes cannot be read; write the events as JSON lines", maxDocumentBytes)
	}
	events, malformed, err := newStreamDecoder(opts, newInternTable()).Decode(doc, nil)
	if err != nil {
		stats.Malformed++
		return nil, stats, nil
	}
	stats.Events = int64(len(events))
	stats.Malformed = int64(malformed)
	return events, stats, nil
}

type decodedBatch struct {
	events []Event
	stats  StreamStats
	err    error
}

func streamLines(r io.Reader, opts StreamOptions, sink func([]Event)) (StreamStats, error) {
	var buffers sync.Pool
	return decodeChunks(opts, sink, nil,
		func(out chan<- []byte) (StreamStats, error) { return splitChunks(r, opts.MaxLineBytes, &buffers, out) },
		func(chunk []byte) { buffers.Put(chunk[:0]) }) //nolint:staticcheck // a slice header is small next to the megabyte it names
}

// decodeChunks decodes the chunks of lines that split sends, on
// opts.Workers workers, and hands each chunk to done once it is decoded.
// mapping, when not nil, is the file mapped into memory that the chunks lie
// in (see StreamFile): a chunk that faults stops the decoding, and the
// events decoded from it are lost with the rest of the file.
func decodeChunks(opts StreamOptions, sink func([]Event), mapping []byte, split func(chan<- []byte) (StreamStats, error), done func([]byte)) (StreamStats, error) {
	chunks := make(chan []byte, opts.Workers)
	batches := make(chan decodedBatch, opts.Workers)
	var eventSlices sync.Pool
	var faulted atomic.Bool

	var splitStats StreamStats
	var splitErr error
	go func() {
		defer close(chunks)
		splitStats, splitErr = split(chunks)
	}()

	var workers sync.WaitGroup
	shared := newInternTable()
	for range opts.Workers {
		workers.Go(func() {
			dec := newStreamDecoder(opts, shared)
			for chunk := range chunks {
				if faulted.Load() {
					done(chunk) // the rest of the file is gone
					continue
				}
				events, _ := eventSlices.Get().([]Event)
				b := decodedBatch{events: events[:0]}
				if mapping != nil {
					b.err = readingMapped(mapping, func() { b.events, b.stats = decodeLines(dec, chunk, opts.MaxLineBytes, b.events) })
					if b.err != nil {
						faulted.Store(true)
					}
				} else {
					b.events, b.stats = decodeLines(dec, chunk, opts.MaxLineBytes, b.events)
				}
				done(chunk)
				batches <- b
			}
		})
	}
	go func() {
		workers.Wait()
		close(batches)
	}()

	var stats StreamStats
	var err error
	for b := range batches {
		if len(b.events) > 0 {
			sink(b.events)
		}
		stats.Add(b.stats)
		err = cmp.Or(err, b.err)
		eventSlices.Put(b.events[:0]) //nolint:staticcheck // see streamLines
	}
	stats.Add(splitStats)
	return stats, cmp.Or(splitErr, err)
}

// decodeLines decodes every line of a chunk.
func decodeLines(dec *Decoder, chunk []byte, maxLine int, events []Event) ([]Event, StreamStats) {
	var stats StreamStats
	for len(chunk) > 0 {
		line := chunk
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			line, chunk = chunk[:i], chunk[i+1:]
		} else {
			chunk = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		stats.Lines++
		if len(line) > maxLine {
			stats.Oversized++
			continue
		}
		before := len(events)
		var malformed int
		var err error
		events, malformed, err = dec.Decode(line, events)
		stats.Malformed += int64(malformed)
		if err != nil {
			stats.Malformed++
		}
		stats.Events += int64(len(events) - before)
	}
	return events, stats
}

// splitChunks reads r into chunks of whole lines and sends them. A line
// longer than maxLine is dropped up to its newline and counted.
func splitChunks(r io.Reader, maxLine int, buffers *sync.Pool, out chan<- []byte) (StreamStats, error) {
	var stats StreamStats
	var carry []byte  // the start of a line that continues in the next read
	skipping := false // inside an oversized line, dropping until its newline
	for {
		buf, _ := buffers.Get().([]byte)
		if cap(buf) < len(carry)+chunkBytes {
			buf = make([]byte, 0, len(carry)+chunkBytes)
		}
		buf = append(buf[:0], carry...)
		n, err := io.ReadFull(r, buf[len(buf):len(buf)+chunkBytes])
		stats.Bytes += int64(n)
		data := buf[:len(buf)+n]
		done := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !done {
			return stats, err
		}
		if skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				carry = carry[:0]
				if done {
					return stats, nil
				}
				buffers.Put(buf[:0]) //nolint:staticcheck // see streamLines
				continue
			}
			data = data[i+1:]
			skipping = false
		}
		if done {
			// Its lines, the one left over with them, are judged one by one.
			if len(data) > 0 {
				out <- data
			}
			return stats, nil
		}
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if len(data) > maxLine {
				stats.Lines++
				stats.Oversized++
				skipping = true
				carry = carry[:0]
			} else {
				carry = append(carry[:0], data...)
			}
			buffers.Put(buf[:0]) //nolint:staticcheck // see streamLines
			continue
		}
		carry = append(carry[:0], data[last+1:]...)
		out <- data[:last+1]
	}
}

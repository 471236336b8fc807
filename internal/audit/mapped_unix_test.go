//go:build unix

package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/test/bench"
)

// TestStreamFileTruncated cuts a file short while it is read in place: the
// stream stops with ErrFileShrank, and the process lives on. A cut within
// the last page, which reads as zeros rather than faulting, is told too.
func TestStreamFileTruncated(t *testing.T) {
	for name, cut := range map[string]func(size int64) int64{
		"to nothing":       func(int64) int64 { return 0 },
		"within last page": func(size int64) int64 { return size - 40 },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			f, err := os.Create(path)
			require.NoError(t, err)
			_, err = bench.Generate(f, 20000, 4)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			info, err := os.Stat(path)
			require.NoError(t, err)

			f, err = os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			truncated := false
			stats, err := StreamFile(f, StreamOptions{Workers: 1}, func([]Event) {
				if !truncated {
					require.NoError(t, os.Truncate(path, cut(info.Size())))
					truncated = true
				}
			})
			require.ErrorIs(t, err, ErrFileShrank)
			require.Positive(t, stats.Events, "what was read before is counted")
		})
	}
}

// loaded keeps the loads of TestFaultOutsideTheMapping from being dropped.
var loaded byte

// TestFaultOutsideTheMapping holds readingMapped to faults in the mapping
// it was given: a fault anywhere else is not a truncated file.
func TestFaultOutsideTheMapping(t *testing.T) {
	mapped := func(content string) []byte {
		path := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		data, unmap, ok := mapFile(f)
		require.True(t, ok)
		t.Cleanup(unmap)
		require.NoError(t, os.Truncate(path, 0))
		return data
	}
	mine, other := mapped("mine"), mapped("other")
	require.ErrorIs(t, readingMapped(mine, func() { loaded = mine[0] }), ErrFileShrank)
	require.Panics(t, func() { _ = readingMapped(mine, func() { loaded = other[0] }) })
	require.Panics(t, func() { _ = readingMapped(mine, func() { panic("not a fault") }) })
}

// TestMappedWindowHoldsTheSplitterBack decodes nothing while the file is
// split: the splitter stops once it is maxMappedAhead past the first chunk,
// and goes on as soon as that chunk is decoded. The chunks make up the file.
func TestMappedWindowHoldsTheSplitterBack(t *testing.T) {
	data, window, chunks := splitMappedFile(t, 3*maxMappedAhead)
	var sent [][]byte
	next := func() ([]byte, bool) {
		select {
		case chunk, ok := <-chunks:
			return chunk, ok
		case <-time.After(200 * time.Millisecond):
			return nil, false
		}
	}
	for {
		chunk, ok := next()
		if !ok {
			break
		}
		sent = append(sent, chunk)
	}
	require.NotEmpty(t, sent)
	last := sent[len(sent)-1]
	held := offsetIn(data, last)
	require.LessOrEqual(t, held, maxMappedAhead, "nothing past the window is handed out")
	require.Greater(t, held+2*chunkBytes, maxMappedAhead, "the window is used")

	window.decoded(sent[0])
	chunk, ok := next()
	require.True(t, ok, "decoding the first chunk makes room")
	sent = append(sent, chunk)
	for _, chunk := range sent[1:] {
		window.decoded(chunk)
	}
	for chunk := range chunks {
		sent = append(sent, chunk)
		window.decoded(chunk)
	}
	require.Equal(t, string(data), string(bytes.Join(sent, nil)))
}

// splitMappedFile maps a file of about size bytes in lines of 1000 and
// splits it in the background, through a window, into chunks.
func splitMappedFile(t *testing.T, size int) (data []byte, window *mappedWindow, chunks chan []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	line := strings.Repeat("x", 999) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat(line, size/len(line))), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	data, unmap, ok := mapFile(f)
	require.True(t, ok)
	t.Cleanup(unmap)

	window = newMappedWindow(data)
	chunks = make(chan []byte, 1000)
	go func() {
		defer close(chunks)
		splitMapped(window, chunks)
	}()
	return data, window, chunks
}

func offsetIn(data, part []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(part))) - uintptr(unsafe.Pointer(unsafe.SliceData(data))))
}

// Decoded pages are given back in batches, and all of them at the end.
func TestMappedWindowGivesBackInBatches(t *testing.T) {
	data, window, chunks := splitMappedFile(t, 3*releaseBatch)
	var sent [][]byte
	for chunk := range chunks {
		sent = append(sent, chunk)
	}
	require.Greater(t, len(sent), 3, "several chunks")
	// Out of order: nothing is given back before the first chunk is decoded.
	window.decoded(sent[1])
	require.Zero(t, window.givenBack)
	window.decoded(sent[0])
	require.Zero(t, window.givenBack, "less than a batch is decoded")
	for _, chunk := range sent[2:] {
		before := window.givenBack
		window.decoded(chunk)
		if window.givenBack != before && window.givenBack != len(data) {
			require.GreaterOrEqual(t, window.givenBack-before, releaseBatch, "a batch at a time")
			require.Zero(t, window.givenBack%os.Getpagesize(), "whole pages")
		}
	}
	require.Equal(t, len(data), window.givenBack, "everything at the end")
}

//go:build unix

package guardpage

import (
	"runtime/debug"
	"testing"
	"unsafe"
)

var sink byte

// TestTailsEndAtAFault reads one byte past each slice: it must fault.
func TestTailsEndAtAFault(t *testing.T) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	lens := 0
	tails(t, 3, 'a', func(b []byte) {
		for _, c := range b {
			if c != 'a' {
				t.Fatalf("%q is not filled", b)
			}
		}
		faulted := func() (faulted bool) {
			defer func() { faulted = recover() != nil }()
			sink = *(*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), len(b)))
			return false
		}()
		if !faulted {
			t.Fatalf("reading past %d bytes did not fault", len(b))
		}
		lens++
	})
	if lens != 3 {
		t.Fatalf("%d slices, want 3", lens)
	}
}

// TestCheckSearch passes a correct search and fails one that ignores the
// stop byte.
func TestCheckSearch(t *testing.T) {
	first := func(b []byte) int {
		for i, c := range b {
			if c == '"' {
				return i
			}
		}
		return len(b)
	}
	CheckSearch(t, 'a', '"', first)
	if searchError(t, 'a', '"', func(b []byte) int { return len(b) }) == nil {
		t.Fatal("a search that ignores the stop byte passed")
	}
}

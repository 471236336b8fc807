//go:build unix

package guardpage

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// CheckSearch holds a search for the first byte of some kind (as quote or
// escape searches are) to inputs of 0 to 39 bytes that end where readable
// memory ends: on filler bytes alone it must return their length, and with
// the last byte a stop byte, that byte's index. A search that reads past its
// input faults.
func CheckSearch(t testing.TB, filler, stop byte, search func([]byte) int) {
	t.Helper()
	if err := searchError(t, filler, stop, search); err != nil {
		t.Fatal(err)
	}
}

// searchError is CheckSearch's verdict; t only reports a failure to set up
// the pages.
func searchError(t testing.TB, filler, stop byte, search func([]byte) int) error {
	var err error
	tails(t, 40, filler, func(b []byte) {
		n := len(b)
		switch {
		case err != nil:
		case search(b) != n:
			err = fmt.Errorf("%d bytes of %q: got %d", n, filler, search(b))
		case n > 0:
			b[n-1] = stop
			if got := search(b); got != n-1 {
				err = fmt.Errorf("%d bytes ending in %q: got %d", n, stop, got)
			}
		}
	})
	return err
}

// tails calls fn with slices of 0 to maxLen-1 bytes, each filled with fill
// and each ending where a page that cannot be read begins. fn may change the
// bytes; the next slice is filled again.
func tails(t testing.TB, maxLen int, fill byte, fn func(b []byte)) {
	t.Helper()
	page := os.Getpagesize()
	if maxLen > page {
		t.Fatalf("guardpage: %d bytes do not fit in a page of %d", maxLen, page)
	}
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("guardpage: mapping two pages: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("guardpage: protecting the second page: %v", err)
	}
	for n := range maxLen {
		b := mem[page-n : page]
		for i := range b {
			b[i] = fill
		}
		fn(b)
	}
}

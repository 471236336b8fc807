//go:build unix

package guardpage

import (
	"os"
	"syscall"
	"testing"
)

// Tails calls fn with slices of 0 to maxLen-1 bytes, each filled with fill
// and each ending where a page that cannot be read begins. fn may change the
// bytes; the next slice is filled again.
func Tails(t testing.TB, maxLen int, fill byte, fn func(b []byte)) {
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

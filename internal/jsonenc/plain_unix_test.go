//go:build unix

package jsonenc

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// TestPlainPrefixStaysInside searches strings that end where readable memory
// ends: a search reading past its input would fault.
func TestPlainPrefixStaysInside(t *testing.T) {
	page := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	for n := range 40 {
		b := mem[page-n : page]
		for i := range b {
			b[i] = 'a'
		}
		s := unsafe.String(unsafe.SliceData(b), len(b))
		if got := widePlainPrefix(s); got != n {
			t.Fatalf("%d bytes: got %d", n, got)
		}
		if n > 0 {
			b[n-1] = '<'
			if got := widePlainPrefix(s); got != n-1 {
				t.Fatalf("%d bytes ending in '<': got %d", n, got)
			}
		}
	}
}

//go:build unix

package audit

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuoteOrBackslashStaysInside searches strings that end where readable
// memory ends: a search reading past its input would fault.
func TestQuoteOrBackslashStaysInside(t *testing.T) {
	page := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	require.NoError(t, syscall.Mprotect(mem[page:], syscall.PROT_NONE))
	for n := range 40 {
		b := mem[page-n : page]
		for i := range b {
			b[i] = 'a'
		}
		require.Equal(t, n, quoteOrBackslash(b))
		if n > 0 {
			b[n-1] = '"'
			require.Equal(t, n-1, quoteOrBackslash(b))
		}
	}
}

//go:build unix

package jsonenc

import (
	"testing"
	"unsafe"

	"github.com/audicia/audicia/internal/testutil/guardpage"
)

// TestPlainPrefixStaysInside searches strings that end where readable memory
// ends: a search reading past its input would fault.
func TestPlainPrefixStaysInside(t *testing.T) {
	guardpage.Tails(t, 40, 'a', func(b []byte) {
		n := len(b)
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
	})
}

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
	guardpage.CheckSearch(t, 'a', '<', func(b []byte) int {
		return widePlainPrefix(unsafe.String(unsafe.SliceData(b), len(b)))
	})
}

//go:build unix

package audit

import (
	"testing"

	"github.com/audicia/audicia/internal/testutil/guardpage"
)

// TestQuoteOrBackslashStaysInside searches strings that end where readable
// memory ends: a search reading past its input would fault.
func TestQuoteOrBackslashStaysInside(t *testing.T) {
	guardpage.CheckSearch(t, 'a', '"', quoteOrBackslash)
}

//go:build unix

package audit

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/internal/testutil/guardpage"
)

// TestQuoteOrBackslashStaysInside searches strings that end where readable
// memory ends: a search reading past its input would fault.
func TestQuoteOrBackslashStaysInside(t *testing.T) {
	guardpage.Tails(t, 40, 'a', func(b []byte) {
		n := len(b)
		require.Equal(t, n, quoteOrBackslash(b))
		if n > 0 {
			b[n-1] = '"'
			require.Equal(t, n-1, quoteOrBackslash(b))
		}
	})
}

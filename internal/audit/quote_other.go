//go:build !amd64

package audit

import (
	"encoding/binary"
	"math/bits"
)

// quoteOrBackslash returns the index of the first quote or backslash in b,
// or len(b) when there is none, comparing eight bytes at a time.
func quoteOrBackslash(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		word := binary.LittleEndian.Uint64(b[i:])
		if m := hasByte(word, '"') | hasByte(word, '\\'); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return len(b)
}

// hasByte sets the high bit of each byte of word equal to c. Bits above the
// lowest set one may be false positives, so only the lowest is meaningful.
func hasByte(word uint64, c byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := word ^ (ones * uint64(c))
	return (x - ones) &^ x & highs
}

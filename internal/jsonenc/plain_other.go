//go:build !amd64

package jsonenc

// plainPrefix returns the length of the longest prefix of s that JSON
// writes as it is.
func plainPrefix(s string) int {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			return i
		}
	}
	return len(s)
}

// plain holds the bytes encoding/json writes as they are.
var plain = func() (t [256]bool) {
	for c := ' '; c <= '~'; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

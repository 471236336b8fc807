package jsonenc

import "encoding/json"

// AppendString appends s as a JSON string, as encoding/json writes it. Names,
// verbs and paths are almost always printable ASCII, and manifests add
// newlines and quotes: those are escaped here. Anything else (other control
// characters, HTML-sensitive characters, Unicode) sends the string through
// encoding/json, so the rarer escapes are its own.
func AppendString(b []byte, s string) []byte {
	mark, whole := len(b), s
	b = append(b, '"')
	for {
		n := plainPrefix(s)
		b = append(b, s[:n]...)
		if n == len(s) {
			return append(b, '"')
		}
		switch c := s[n]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			quoted, _ := json.Marshal(whole) // a string always encodes
			return append(b[:mark], quoted...)
		}
		s = s[n+1:]
	}
}

// plainPrefix returns the length of the longest prefix of s that JSON
// writes as it is: printable ASCII other than '"', '\\', '<', '>' and '&'.
// A short string is looked at byte by byte; a longer one sixteen bytes at
// a time where the processor allows.
func plainPrefix(s string) int {
	if len(s) >= 16 {
		return widePlainPrefix(s)
	}
	return narrowPlainPrefix(s)
}

func narrowPlainPrefix(s string) int {
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

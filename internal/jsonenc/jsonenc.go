package jsonenc

import "encoding/json"

// AppendString appends s as a JSON string, as encoding/json writes it. Names,
// verbs and paths are almost always printable ASCII, and manifests add
// newlines and quotes: those are escaped here. Anything else (other control
// characters, HTML-sensitive characters, Unicode) sends the string through
// encoding/json, so the rarer escapes are its own.
func AppendString(b []byte, s string) []byte {
	mark := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain[c] {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b[:mark], quoted...)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain holds the bytes encoding/json writes as they are.
var plain = func() (t [256]bool) {
	for c := ' '; c <= '~'; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

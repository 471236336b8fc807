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

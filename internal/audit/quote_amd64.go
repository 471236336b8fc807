package audit

// quoteOrBackslash returns the index of the first quote or backslash in b,
// or len(b) when there is none. It compares sixteen bytes at a time (SSE2,
// which every amd64 processor has), never reading outside b.
//
//go:noescape
func quoteOrBackslash(b []byte) int

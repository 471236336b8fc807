package jsonenc

// plainPrefix returns the length of the longest prefix of s that JSON
// writes as it is: printable ASCII other than '"', '\\', '<', '>' and '&'.
// It compares sixteen bytes at a time (SSE2, which every amd64 processor
// has), never reading outside s.
//
//go:noescape
func plainPrefix(s string) int

package jsonenc

// widePlainPrefix is plainPrefix comparing sixteen bytes at a time (SSE2,
// which every amd64 processor has), never reading outside s.
//
//go:noescape
func widePlainPrefix(s string) int

//go:build !amd64

package jsonenc

func widePlainPrefix(s string) int { return narrowPlainPrefix(s) }

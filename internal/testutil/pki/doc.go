// Package pki issues throwaway certificates for tests that need real TLS: a
// certificate authority, serving certificates and client certificates.
package pki

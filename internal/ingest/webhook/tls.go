package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// tlsState is one immutable generation of TLS material. Every change builds a
// new one; handshakes read the current one, so a new certificate or client CA
// applies to the next handshake without touching the listener.
type tlsState struct {
	cert *tls.Certificate
	// clientCA is nil when mutual TLS is off.
	clientCA *x509.CertPool
	// allowed are the client names allowed to post (empty: any).
	allowed []string
	// generation changes with every SetClientCA and SetAllowedClientNames,
	// so connections authorized under older settings are authorized again.
	generation uint64
	config     *tls.Config
}

func (s *tlsState) build() {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 only: kube-apiserver's webhook client speaks it, and a
		// refused oversized body can then close the connection at once.
		NextProtos: []string{"http/1.1"},
		ClientAuth: tls.NoClientCert,
	}
	if s.cert != nil {
		cfg.Certificates = []tls.Certificate{*s.cert}
	}
	if s.clientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = s.clientCA
	}
	s.config = cfg
}

// SetServingCertificate replaces the certificate the receiver presents.
// Handshakes after it returns use the new one; open connections keep theirs.
// It fails, changing nothing, on PEM that holds no certificate or key, or a
// key that does not match the certificate.
func (r *Receiver) SetServingCertificate(certPEM, keyPEM []byte) error {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("webhook serving certificate: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("webhook serving certificate: %w", err)
		}
	}
	r.tlsMu.Lock()
	defer r.tlsMu.Unlock()
	next := *r.tls.Load()
	next.cert = &cert
	next.build()
	r.tls.Store(&next)
	r.warnIfOutsideValidity(&cert)
	return nil
}

// warnIfOutsideValidity logs a certificate clients will refuse for its
// dates. A certificate set before Start is checked again by Start, which
// brings the logger.
func (r *Receiver) warnIfOutsideValidity(cert *tls.Certificate) {
	if now := time.Now(); now.After(cert.Leaf.NotAfter) || now.Before(cert.Leaf.NotBefore) {
		r.logger().Info("webhook serving certificate is outside its validity period; clients will refuse it",
			"notBefore", cert.Leaf.NotBefore, "notAfter", cert.Leaf.NotAfter)
	}
}

// SetClientCA sets the CA bundle that signs the clients' certificates. Empty
// PEM turns mutual TLS off; otherwise every handshake must present a
// certificate the bundle verifies, and requests on connections verified under
// an earlier bundle are verified again. It fails, changing nothing, on PEM
// holding no certificate or a certificate that does not parse.
func (r *Receiver) SetClientCA(caPEM []byte) error {
	var pool *x509.CertPool
	if len(caPEM) > 0 {
		var err error
		if pool, err = parseCAs(caPEM); err != nil {
			return fmt.Errorf("webhook client CA: %w", err)
		}
	}
	r.tlsMu.Lock()
	defer r.tlsMu.Unlock()
	next := *r.tls.Load()
	next.clientCA = pool
	next.generation++
	next.build()
	r.tls.Store(&next)
	return nil
}

// SetAllowedClientNames replaces Options.AllowedClientNames; requests after
// it returns, on open connections too, are checked against the new list.
func (r *Receiver) SetAllowedClientNames(names []string) {
	r.tlsMu.Lock()
	defer r.tlsMu.Unlock()
	next := *r.tls.Load()
	next.allowed = slices.Clone(names)
	next.generation++
	r.tls.Store(&next)
}

func parseCAs(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// serverTLSConfig is the listener's configuration: it only hands each
// handshake the current generation.
func (r *Receiver) serverTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s := r.tls.Load()
			if s.cert == nil {
				return nil, errors.New("no serving certificate set")
			}
			return s.config, nil
		},
	}
}

// errNotAllowed is why a request is refused with 403.
type errNotAllowed struct{ reason string }

func (e *errNotAllowed) Error() string { return e.reason }

// authorize decides whether a client may post events. With mutual TLS off
// every client may, unless an allow-list is set: names cannot be checked
// without a CA, so the receiver then fails closed. With it on, the client's
// chain must verify under the current CA (the handshake checked it under the
// CA of its time) and, when allowed is not empty, the leaf's CN or one of its
// DNS SANs must be in allowed. It returns the client's name for logs.
func authorize(peer []*x509.Certificate, ca *x509.CertPool, allowed []string, now time.Time) (string, error) {
	if ca == nil {
		if len(allowed) > 0 {
			return "", &errNotAllowed{"allowed client names are set but no client CA: mutual TLS is off, so no client can be identified"}
		}
		return "", nil
	}
	if len(peer) == 0 {
		return "", &errNotAllowed{"no client certificate"}
	}
	leaf := peer[0]
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: ca, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return leaf.Subject.CommonName, &errNotAllowed{"client certificate not verified by the current client CA: " + err.Error()}
	}
	if len(allowed) == 0 {
		return leaf.Subject.CommonName, nil
	}
	if slices.Contains(allowed, leaf.Subject.CommonName) {
		return leaf.Subject.CommonName, nil
	}
	for _, n := range leaf.DNSNames {
		if slices.Contains(allowed, n) {
			return n, nil
		}
	}
	return leaf.Subject.CommonName, &errNotAllowed{fmt.Sprintf("client %q (DNS names %v) is not in allowedClientNames", leaf.Subject.CommonName, leaf.DNSNames)}
}

// connAuth caches a connection's authorization for one CA generation, so a
// keep-alive connection pays for chain verification once.
type connAuth struct {
	result atomic.Pointer[authResult]
}

type authResult struct {
	generation uint64
	name       string
	err        error
}

type connAuthKey struct{}

func withConnAuth(ctx context.Context) context.Context {
	return context.WithValue(ctx, connAuthKey{}, &connAuth{})
}

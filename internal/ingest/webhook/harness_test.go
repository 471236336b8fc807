package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/ingest/webhook"
)

// sharedTestdata holds the logs a real kube-apiserver wrote, beside the repository.
const sharedTestdata = "../../../../shared/testdata"

// logLines returns the lines of a real audit log of the shared test data.
func logLines(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			lines = append(lines, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return lines
}

// eventList wraps items into the EventList body kube-apiserver's batch
// webhook posts.
func eventList(items [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	b.Write(bytes.Join(items, []byte(",")))
	b.WriteString("]}")
	return b.Bytes()
}

// decodeLines decodes each line on its own: what the sink should receive.
func decodeLines(t testing.TB, lines [][]byte) []audit.Event {
	t.Helper()
	dec := audit.NewDecoder()
	var out []audit.Event
	for i, l := range lines {
		var malformed int
		var err error
		if out, malformed, err = dec.Decode(l, out); err != nil || malformed != 0 {
			t.Fatalf("line %d: malformed %d, err %v", i+1, malformed, err)
		}
	}
	return out
}

// recordingSink keeps copies of the batches it accepts; while busy it
// refuses them with ErrBusy.
type recordingSink struct {
	mu       sync.Mutex
	busy     bool
	calls    int
	accepted [][]audit.Event
}

func (s *recordingSink) sink(events []audit.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.busy {
		return webhook.ErrBusy
	}
	s.accepted = append(s.accepted, append([]audit.Event(nil), events...))
	return nil
}

func (s *recordingSink) setBusy(b bool) {
	s.mu.Lock()
	s.busy = b
	s.mu.Unlock()
}

func (s *recordingSink) snapshot() (calls int, accepted [][]audit.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([][]audit.Event(nil), s.accepted...)
}

var sources atomic.Int64

// server is a receiver started for one test on 127.0.0.1 with a fresh CA and
// serving certificate.
type server struct {
	r      *webhook.Receiver
	source string
	ca     *testCA
	cert   issued
	url    string
	done   chan error
	close  context.CancelFunc
}

// startServer starts a receiver; clientCA, when not nil, turns mutual TLS on.
func startServer(t testing.TB, opts webhook.Options, sink webhook.Sink, clientCA []byte) *server {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Source == "" {
		// Unique per run, so counters start at zero with -count=N too.
		opts.Source = fmt.Sprintf("%s#%d", t.Name(), sources.Add(1))
	}
	r, err := webhook.New(opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{r: r, source: opts.Source, ca: newCA(t, "serving-ca"), done: make(chan error, 1)}
	s.cert = s.ca.serverCert(t)
	if err := r.SetServingCertificate(s.cert.certPEM, s.cert.keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := r.SetClientCA(clientCA); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.close = cancel
	go func() { s.done <- r.Start(ctx) }()
	select {
	case <-r.Ready():
	case err := <-s.done:
		t.Fatalf("Start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("receiver not ready after 10s")
	}
	s.url = "https://" + r.Addr().String()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("Start returned %v after shutdown", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("receiver did not shut down in 20s")
		}
	})
	return s
}

// client returns an HTTPS client trusting the serving CA, presenting cert
// when not nil.
func (s *server) client(cert *issued) *http.Client {
	cfg := &tls.Config{RootCAs: s.ca.pool(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.tls}
	}
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: false},
	}
}

// post POSTs body and returns the status code and Retry-After.
func post(t testing.TB, c *http.Client, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// counter reads the value of a counter series.
func counter(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// tlsDial opens a new TLS connection that trusts ca, completing the handshake.
func tlsDial(addr string, ca *testCA) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12})
}

// handshakeRefusal dials with cert (nil: none) and returns the error the
// server's TLS alert produces: during the handshake with TLS 1.2, on the
// first read with TLS 1.3 (where the server checks the client's certificate
// after the client has finished its side).
func handshakeRefusal(addr string, ca *testCA, cert *issued) error {
	cfg := &tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		// Present cert whatever CAs the server names as acceptable (Go's
		// client would otherwise send no certificate at all).
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert.tls, nil }
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return err
	}
	_, err = conn.Read(make([]byte, 1))
	return err
}

package webhook_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/ingest/webhook"
	"github.com/audicia/audicia/internal/metrics"
)

func TestEventListReachesSink(t *testing.T) {
	for _, name := range []string{"kube-apiserver-v1.34-scenario.audit.log", "kube-apiserver-v1.34-bootstrap.audit.log"} {
		t.Run(name, func(t *testing.T) {
			lines := logLines(t, name)
			want := decodeLines(t, lines)
			var sink recordingSink
			s := startServer(t, webhook.Options{}, sink.sink, nil)

			// kube-apiserver posts to the path of its kubeconfig's server URL.
			code, _ := post(t, s.client(nil), s.url+"/audit/webhook", eventList(lines))
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200", code)
			}
			_, accepted := sink.snapshot()
			if len(accepted) != 1 {
				t.Fatalf("sink got %d batches, want 1", len(accepted))
			}
			if len(accepted[0]) != len(lines) || !reflect.DeepEqual(accepted[0], want) {
				t.Fatalf("sink got %d events, not the %d events of the log as decoded line by line", len(accepted[0]), len(want))
			}
			if got := s.r.Stats(); got.BatchesAccepted != 1 || got.EventsAccepted != uint64(len(lines)) || got.Malformed != 0 {
				t.Fatalf("stats %+v", got)
			}
			if got := counter(t, metrics.WebhookEvents.WithLabelValues(s.source)); got != float64(len(lines)) {
				t.Fatalf("audicia_webhook_events_total = %v, want %d", got, len(lines))
			}
			if got := counter(t, metrics.WebhookRequests.WithLabelValues(s.source, "200")); got != 1 {
				t.Fatalf("audicia_webhook_requests_total{code=200} = %v, want 1", got)
			}
		})
	}
}

func TestMutualTLS(t *testing.T) {
	lines := logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")
	body := eventList(lines)
	clientCA := newCA(t, "client-ca")
	otherCA := newCA(t, "other-ca")
	var sink recordingSink
	s := startServer(t, webhook.Options{AllowedClientNames: []string{"kube-apiserver", "apiserver.audit.local"}}, sink.sink, clientCA.pem)

	allowedCN := clientCA.clientCert(t, "kube-apiserver")
	allowedSAN := clientCA.clientCert(t, "some-name", "apiserver.audit.local")
	strangerCN := clientCA.clientCert(t, "intruder", "intruder.local")
	foreign := otherCA.clientCert(t, "kube-apiserver")

	t.Run("no client certificate: handshake refused", func(t *testing.T) {
		if _, err := s.client(nil).Post(s.url, "application/json", bytes.NewReader(body)); err == nil {
			t.Fatal("POST without a client certificate succeeded")
		}
		if err := handshakeRefusal(s.r.Addr().String(), s.ca, nil); err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("handshake without a client certificate: err %v, want the alert 'certificate required'", err)
		}
	})
	t.Run("certificate of another CA: handshake refused", func(t *testing.T) {
		if _, err := s.client(&foreign).Post(s.url, "application/json", bytes.NewReader(body)); err == nil {
			t.Fatal("POST with a foreign certificate succeeded")
		}
		if err := handshakeRefusal(s.r.Addr().String(), s.ca, &foreign); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
			t.Fatalf("handshake with a foreign certificate: err %v, want the alert 'unknown certificate authority'", err)
		}
		if calls, _ := sink.snapshot(); calls != 0 {
			t.Fatalf("sink called %d times for refused handshakes", calls)
		}
	})
	t.Run("CN not allowed: 403, body not taken", func(t *testing.T) {
		code, _ := post(t, s.client(&strangerCN), s.url, body)
		if code != http.StatusForbidden {
			t.Fatalf("status %d, want 403", code)
		}
		if calls, _ := sink.snapshot(); calls != 0 {
			t.Fatalf("sink called %d times for a refused client", calls)
		}
		if got := counter(t, metrics.WebhookRejectedBatches.WithLabelValues(s.source, metrics.ReasonUnauthorized)); got != 1 {
			t.Fatalf("rejected{unauthorized} = %v, want 1", got)
		}
	})
	t.Run("health check needs no allowed name", func(t *testing.T) {
		resp, err := s.client(&strangerCN).Get(s.url + webhook.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz status %d", resp.StatusCode)
		}
	})
	t.Run("allowed CN and allowed DNS SAN: 200", func(t *testing.T) {
		for _, c := range []*issued{&allowedCN, &allowedSAN} {
			if code, _ := post(t, s.client(c), s.url, body); code != http.StatusOK {
				t.Fatalf("status %d, want 200", code)
			}
		}
		if _, accepted := sink.snapshot(); len(accepted) != 2 || len(accepted[0]) != len(lines) {
			t.Fatalf("sink got %d batches, want 2 of %d events", len(accepted), len(lines))
		}
	})
	// The server logs a refused handshake after the client saw the alert.
	waitFor(t, "2 TLS handshake errors counted", func() bool {
		return counter(t, metrics.WebhookTLSHandshakeErrors.WithLabelValues(s.source)) >= 2
	})
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOversizeBody(t *testing.T) {
	body := eventList(logLines(t, "kube-apiserver-v1.34-scenario.audit.log"))
	const limit = 4096
	var sink recordingSink
	s := startServer(t, webhook.Options{MaxRequestBytes: limit}, sink.sink, nil)
	c := s.client(nil)

	t.Run("Content-Length over the limit", func(t *testing.T) {
		if code, _ := post(t, c, s.url, body); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", code)
		}
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		// No Content-Length: the receiver finds out by reading limit+1 bytes.
		resp, err := c.Post(s.url, "application/json", struct{ *bytes.Reader }{bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ContentLength = 0; resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("body of exactly the limit is read", func(t *testing.T) {
		// Padding whitespace keeps it valid JSON of exactly limit bytes.
		small := eventList(logLines(t, "kube-apiserver-v1.34-scenario.audit.log")[:2])
		small = append(small, bytes.Repeat([]byte(" "), limit-len(small))...)
		if code, _ := post(t, c, s.url, small); code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
	})
	if calls, accepted := sink.snapshot(); calls != 1 || len(accepted[0]) != 2 {
		t.Fatalf("sink called %d times, want once (for the body within the limit)", calls)
	}
	if got := counter(t, metrics.WebhookRejectedBatches.WithLabelValues(s.source, metrics.ReasonTooLarge)); got != 2 {
		t.Fatalf("rejected{too_large} = %v, want 2", got)
	}
}

func TestBusySinkThenRetry(t *testing.T) {
	lines := logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")
	body := eventList(lines)
	sink := recordingSink{busy: true}
	s := startServer(t, webhook.Options{BusyRetryAfter: 2 * time.Second}, sink.sink, nil)
	c := s.client(nil)

	code, retryAfter := post(t, c, s.url, body)
	if code != http.StatusTooManyRequests || retryAfter != "2" {
		t.Fatalf("busy sink: status %d Retry-After %q, want 429 and 2", code, retryAfter)
	}
	if st := s.r.Stats(); st.BatchesAccepted != 0 || st.EventsAccepted != 0 || st.BatchesRejected != 1 {
		t.Fatalf("a refused batch counted as received: %+v", st)
	}
	sink.setBusy(false)
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", code)
	}
	calls, accepted := sink.snapshot()
	if calls != 2 || len(accepted) != 1 || !reflect.DeepEqual(accepted[0], decodeLines(t, lines)) {
		t.Fatalf("sink called %d times, accepted %d batches: want 2 calls and the batch accepted once", calls, len(accepted))
	}
	if got := counter(t, metrics.WebhookEvents.WithLabelValues(s.source)); got != float64(len(lines)) {
		t.Fatalf("audicia_webhook_events_total = %v, want %d (the batch once)", got, len(lines))
	}
	if got := counter(t, metrics.WebhookRejectedBatches.WithLabelValues(s.source, metrics.ReasonBusy)); got != 1 {
		t.Fatalf("rejected{busy} = %v, want 1", got)
	}
}

func TestOtherSinkErrorIs500(t *testing.T) {
	s := startServer(t, webhook.Options{}, func([]audit.Event) error { return errors.New("disk on fire") }, nil)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log"))
	if code, _ := post(t, s.client(nil), s.url, body); code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", code)
	}
}

func TestRateLimit(t *testing.T) {
	lines := logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log") // 40 events
	body := eventList(lines)
	var sink recordingSink
	s := startServer(t, webhook.Options{MaxEventsPerSecond: 50}, sink.sink, nil)
	c := s.client(nil)

	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("first batch (40 of 50 events/s): status %d, want 200", code)
	}
	code, retryAfter := post(t, c, s.url, body)
	if code != http.StatusTooManyRequests {
		t.Fatalf("second batch (80 events in well under a second, budget 50/s): status %d, want 429", code)
	}
	if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 {
		t.Fatalf("Retry-After %q, want whole seconds >= 1", retryAfter)
	}
	if calls, _ := sink.snapshot(); calls != 1 {
		t.Fatalf("sink called %d times, want 1: a batch over the budget must not reach it", calls)
	}
	if got := counter(t, metrics.WebhookRejectedBatches.WithLabelValues(s.source, metrics.ReasonRateLimited)); got != 1 {
		t.Fatalf("rejected{rate_limited} = %v, want 1", got)
	}
}

func TestMalformedItems(t *testing.T) {
	lines := logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")
	var sink recordingSink
	s := startServer(t, webhook.Options{}, sink.sink, nil)
	c := s.client(nil)
	source := s.source
	malformedBefore := counter(t, metrics.EventsMalformed.WithLabelValues(source))

	t.Run("one malformed item among two events", func(t *testing.T) {
		body := eventList([][]byte{lines[0], []byte(`{"hello":"world"}`), lines[1]})
		if code, _ := post(t, c, s.url, body); code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
		_, accepted := sink.snapshot()
		if len(accepted) != 1 || !reflect.DeepEqual(accepted[0], decodeLines(t, lines[:2])) {
			t.Fatalf("sink got %v, want the two good events", accepted)
		}
		if got := s.r.Stats().Malformed; got != 1 {
			t.Fatalf("Stats.Malformed = %d, want 1", got)
		}
		if got := counter(t, metrics.EventsMalformed.WithLabelValues(source)) - malformedBefore; got != 1 {
			t.Fatalf("audicia_events_malformed_total grew by %v, want 1", got)
		}
	})
	t.Run("unparseable body", func(t *testing.T) {
		for _, body := range []string{`{"kind":"EventList","items":[`, `not json`, `{"kind":"Pod"}`} {
			if code, _ := post(t, c, s.url, []byte(body)); code != http.StatusBadRequest {
				t.Fatalf("%q: status %d, want 400", body, code)
			}
		}
		if calls, _ := sink.snapshot(); calls != 1 {
			t.Fatalf("sink called for an unparseable body")
		}
		if got := counter(t, metrics.WebhookRejectedBatches.WithLabelValues(source, metrics.ReasonMalformed)); got != 3 {
			t.Fatalf("rejected{malformed} = %v, want 3", got)
		}
		if got := s.r.Stats().Malformed; got != 4 {
			t.Fatalf("Stats.Malformed = %d, want 4", got)
		}
	})
}

func TestMethodAndHealth(t *testing.T) {
	var sink recordingSink
	s := startServer(t, webhook.Options{}, sink.sink, nil)
	c := s.client(nil)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/audit", http.StatusMethodNotAllowed},
		{http.MethodGet, webhook.HealthPath, http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, s.url+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}

func TestHotReloadServingCertificate(t *testing.T) {
	var sink recordingSink
	s := startServer(t, webhook.Options{}, sink.sink, nil)
	addr := s.r.Addr().String()

	// leafSerial dials a new connection and returns the serial the server presented.
	leafSerial := func() string {
		t.Helper()
		conn, err := tlsDial(addr, s.ca)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := leafSerial(); got != s.cert.serial.String() {
		t.Fatalf("serial %s, want the first certificate's %s", got, s.cert.serial)
	}

	// A connection opened before the reload keeps working.
	c := s.client(nil)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")[:1])
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}

	renewed := s.ca.serverCert(t)
	if err := s.r.SetServingCertificate(renewed.certPEM, renewed.keyPEM); err != nil {
		t.Fatal(err)
	}
	if got := leafSerial(); got != renewed.serial.String() {
		t.Fatalf("serial %s after reload, want the new certificate's %s", got, renewed.serial)
	}
	if s.r.Addr().String() != addr {
		t.Fatalf("listener changed: %s -> %s", addr, s.r.Addr())
	}
	select {
	case err := <-s.done:
		t.Fatalf("Start returned during reload: %v", err)
	default:
	}

	t.Run("bad material is refused and the current certificate stays", func(t *testing.T) {
		other := s.ca.serverCert(t)
		for name, tc := range map[string]struct {
			cert, key []byte
			want      string
		}{
			"not PEM":      {[]byte("garbage"), renewed.keyPEM, "failed to find any PEM data in certificate input"},
			"no key":       {renewed.certPEM, nil, "failed to find any PEM data in key input"},
			"key mismatch": {renewed.certPEM, other.keyPEM, "private key does not match public key"},
		} {
			err := s.r.SetServingCertificate(tc.cert, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err %v, want it to say %q", name, err, tc.want)
			}
		}
		if got := leafSerial(); got != renewed.serial.String() {
			t.Fatalf("serial %s after refused updates, want %s", got, renewed.serial)
		}
	})
}

func TestClientCARotationReverifiesOpenConnections(t *testing.T) {
	oldCA, newCA_ := newCA(t, "old-client-ca"), newCA(t, "new-client-ca")
	var sink recordingSink
	s := startServer(t, webhook.Options{}, sink.sink, oldCA.pem)
	cert := oldCA.clientCert(t, "kube-apiserver")
	c := s.client(&cert)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")[:1])
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if err := s.r.SetClientCA(newCA_.pem); err != nil {
		t.Fatal(err)
	}
	// Same keep-alive connection, verified under the old CA at its handshake.
	if code, _ := post(t, c, s.url, body); code != http.StatusForbidden {
		t.Fatalf("after CA rotation: status %d, want 403", code)
	}
	if err := s.r.SetClientCA([]byte("-----BEGIN NOTHING-----\n-----END NOTHING-----\n")); err == nil || !strings.Contains(err.Error(), "no PEM CERTIFICATE") {
		t.Fatalf("SetClientCA with no certificate: err %v", err)
	}
	// mTLS off: any client.
	if err := s.r.SetClientCA(nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, s.client(nil), s.url, body); code != http.StatusOK {
		t.Fatalf("mTLS off: status %d, want 200", code)
	}
}

func TestAllowListWithoutCAFailsClosed(t *testing.T) {
	var sink recordingSink
	s := startServer(t, webhook.Options{AllowedClientNames: []string{"kube-apiserver"}}, sink.sink, nil)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")[:1])
	if code, _ := post(t, s.client(nil), s.url, body); code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", code)
	}
}

func TestPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	r, err := webhook.New(webhook.Options{Addr: busy.Addr().String(), Source: t.Name()}, func([]audit.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ca := newCA(t, "ca")
	cert := ca.serverCert(t)
	if err := r.SetServingCertificate(cert.certPEM, cert.keyPEM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Start(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("Start: %v, want an error that is EADDRINUSE", err)
		}
		if !strings.Contains(err.Error(), "in use") {
			t.Fatalf("error %q does not say the address is in use", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return at once on a port in use")
	}
}

func TestStartNeedsServingCertificate(t *testing.T) {
	r, err := webhook.New(webhook.Options{Addr: "127.0.0.1:0"}, func([]audit.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); !errors.Is(err, webhook.ErrNoServingCertificate) {
		t.Fatalf("Start without a certificate: %v", err)
	}
	if r.Addr() != nil {
		t.Fatalf("listening without a certificate on %s", r.Addr())
	}
}

// TestExpiredCertificateAtStartIsLogged checks that a certificate set
// before Start, as at every start of a source, is held to its dates once
// there is a logger to say so.
func TestExpiredCertificateAtStartIsLogged(t *testing.T) {
	r, err := webhook.New(webhook.Options{Addr: "127.0.0.1:0"}, func([]audit.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ca := newCA(t, "serving-ca")
	expired := ca.issueFor(t, "audicia-webhook", []string{"localhost"}, nil, x509.ExtKeyUsageServerAuth,
		time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err := r.SetServingCertificate(expired.certPEM, expired.keyPEM); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logged []string
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, args)
	}, funcr.Options{})
	ctx, cancel := context.WithCancel(logr.NewContext(context.Background(), logger))
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	<-r.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logged, "\n"), "outside its validity period") {
		t.Fatalf("nothing logged of the expired certificate; logged: %q", logged)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := webhook.New(webhook.Options{}, nil); err == nil {
		t.Error("nil sink accepted")
	}
	if _, err := webhook.New(webhook.Options{MaxEventsPerSecond: -1}, func([]audit.Event) error { return nil }); err == nil {
		t.Error("negative rate accepted")
	}
}

func TestSetAllowedClientNamesAppliesToOpenConnections(t *testing.T) {
	clientCA := newCA(t, "client-ca")
	var sink recordingSink
	s := startServer(t, webhook.Options{AllowedClientNames: []string{"someone-else"}}, sink.sink, clientCA.pem)
	cert := clientCA.clientCert(t, "kube-apiserver")
	c := s.client(&cert)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")[:1])
	if code, _ := post(t, c, s.url, body); code != http.StatusForbidden {
		t.Fatalf("not yet allowed: status %d, want 403", code)
	}
	s.r.SetAllowedClientNames([]string{"kube-apiserver"})
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("allowed: status %d, want 200", code)
	}
	s.r.SetAllowedClientNames([]string{"someone-else"})
	// The keep-alive connection that was allowed is checked again.
	if code, _ := post(t, c, s.url, body); code != http.StatusForbidden {
		t.Fatalf("no longer allowed: status %d, want 403", code)
	}
	if _, accepted := sink.snapshot(); len(accepted) != 1 {
		t.Fatalf("sink accepted %d batches, want 1", len(accepted))
	}
}

func TestSetLimits(t *testing.T) {
	var sink recordingSink
	s := startServer(t, webhook.Options{}, sink.sink, nil)
	c := s.client(nil)
	body := eventList(logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log"))
	if err := s.r.SetLimits(1024, 0); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, c, s.url, body); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("after SetLimits(1024, 0): status %d, want 413", code)
	}
	if err := s.r.SetLimits(0, 10); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("40 events with a 10/s budget: status %d, want 200 (a batch larger than the bucket is taken when it is full)", code)
	}
	if code, _ := post(t, c, s.url, body); code != http.StatusTooManyRequests {
		t.Fatalf("40 more events at once: status %d, want 429", code)
	}
	if err := s.r.SetLimits(-1, 0); err == nil {
		t.Fatal("negative limit accepted")
	}
}

func TestMalformedItemsOfARetriedBatchCountOnce(t *testing.T) {
	lines := logLines(t, "kube-apiserver-v1.34-bootstrap.audit.log")
	sink := recordingSink{busy: true}
	s := startServer(t, webhook.Options{}, sink.sink, nil)
	c := s.client(nil)
	body := eventList([][]byte{lines[0], []byte(`42`), lines[1]})
	if code, _ := post(t, c, s.url, body); code != http.StatusTooManyRequests {
		t.Fatalf("busy: status %d, want 429", code)
	}
	sink.setBusy(false)
	if code, _ := post(t, c, s.url, body); code != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", code)
	}
	if got := s.r.Stats().Malformed; got != 1 {
		t.Fatalf("Stats.Malformed = %d, want 1", got)
	}
	if got := counter(t, metrics.EventsMalformed.WithLabelValues(s.source)); got != 1 {
		t.Fatalf("audicia_events_malformed_total = %v, want 1", got)
	}
}

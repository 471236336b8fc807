package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/ingest/webhook"
)

// BenchmarkReceive posts the real scenario log as one EventList (142 events,
// the size of a small kube-apiserver batch; its default max is 400) over
// keep-alive TLS connections to a receiver with a no-op sink, with mutual TLS
// on. It reports events/s through TLS, HTTP, decoding and the sink.
func BenchmarkReceive(b *testing.B) {
	lines := logLines(b, "kube-apiserver-v1.34-scenario.audit.log")
	body := eventList(lines)
	clientCA := newCA(b, "client-ca")
	s := startServer(b, webhook.Options{AllowedClientNames: []string{"kube-apiserver"}}, func([]audit.Event) error { return nil }, clientCA.pem)
	cert := clientCA.clientCert(b, "kube-apiserver")

	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			c := s.client(&cert)
			c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			send := func() {
				resp, err := c.Post(s.url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			send() // handshake outside the timing
			before := s.r.Stats().EventsAccepted
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						send()
					}
				})
			} else {
				for b.Loop() {
					send()
				}
			}
			b.StopTimer()
			events := s.r.Stats().EventsAccepted - before
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(len(lines)), "events/batch")
		})
	}
}

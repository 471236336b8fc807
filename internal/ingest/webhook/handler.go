package webhook

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/metrics"
)

// HealthPath answers 200 to GET without client authorization (TLS, and the
// client certificate when mutual TLS is on, are still required).
const HealthPath = "/healthz"

// receiverMetrics are the receiver's series, with the source label bound once.
type receiverMetrics struct {
	source          string
	events          prometheus.Counter
	malformed       prometheus.Counter
	duration        prometheus.Observer
	handshakeErrors prometheus.Counter
	rejected        map[string]prometheus.Counter
}

func newReceiverMetrics(source string) receiverMetrics {
	m := receiverMetrics{
		source:          source,
		events:          metrics.WebhookEvents.WithLabelValues(source),
		malformed:       metrics.EventsMalformed.WithLabelValues(source),
		duration:        metrics.WebhookRequestDuration.WithLabelValues(source),
		handshakeErrors: metrics.WebhookTLSHandshakeErrors.WithLabelValues(source),
		rejected:        map[string]prometheus.Counter{},
	}
	for _, reason := range []string{metrics.ReasonTooLarge, metrics.ReasonRateLimited, metrics.ReasonBusy, metrics.ReasonUnauthorized, metrics.ReasonMalformed} {
		m.rejected[reason] = metrics.WebhookRejectedBatches.WithLabelValues(source, reason)
	}
	return m
}

// ServeHTTP answers one webhook request: authorize, check method and size,
// read, decode, take from the rate budget, hand to the sink. A batch is
// accepted (200) whole or refused whole.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == HealthPath && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	start := time.Now()
	code := r.serveBatch(w, req, start)
	metrics.WebhookRequests.WithLabelValues(r.m.source, strconv.Itoa(code)).Inc()
	r.m.duration.Observe(time.Since(start).Seconds())
	if code != http.StatusOK {
		r.batchesRejected.Add(1)
	}
}

// serveBatch writes the answer and returns its status code.
func (r *Receiver) serveBatch(w http.ResponseWriter, req *http.Request, now time.Time) int {
	log := ctrl.LoggerFrom(req.Context()).WithValues("remoteAddr", req.RemoteAddr)

	client, err := r.authorizeRequest(req, now)
	if err != nil {
		r.m.rejected[metrics.ReasonUnauthorized].Inc()
		log.Info("refused audit webhook client", "reason", err.Error())
		// The body is not read: close rather than drain it.
		w.Header().Set("Connection", "close")
		return reply(w, http.StatusForbidden, "client not allowed")
	}
	if client != "" {
		log = log.WithValues("client", client)
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return reply(w, http.StatusMethodNotAllowed, "audit events must be POSTed")
	}
	if enc := req.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		w.Header().Set("Connection", "close")
		return reply(w, http.StatusUnsupportedMediaType, "unsupported Content-Encoding "+strconv.Quote(enc))
	}

	lim := r.limits.Load()
	limit := lim.maxRequestBytes
	if req.ContentLength > limit {
		return r.tooLarge(w, log, limit, req.ContentLength)
	}
	buf := r.buffers.Get().(*batchBuffer)
	defer r.putBuffer(buf)
	if req.ContentLength > 0 {
		// A declared length is only a hint: memory grows with what arrives.
		buf.body.Grow(int(min(req.ContentLength, maxPreallocate)))
	}
	if _, err := buf.body.ReadFrom(io.LimitReader(req.Body, limit+1)); err != nil {
		log.Info("reading audit webhook body failed", "error", err.Error())
		w.Header().Set("Connection", "close")
		return reply(w, http.StatusBadRequest, "cannot read body")
	}
	if int64(buf.body.Len()) > limit {
		return r.tooLarge(w, log, limit, -1)
	}

	dec := r.decoders.Get().(*audit.Decoder)
	events, malformed, err := dec.Decode(buf.body.Bytes(), buf.events[:0])
	r.decoders.Put(dec)
	buf.events = events
	if err != nil {
		r.malformed.Add(1)
		r.m.malformed.Inc()
		r.m.rejected[metrics.ReasonMalformed].Inc()
		log.Info("audit webhook body is not an audit Event or EventList", "error", err.Error(), "bytes", buf.body.Len())
		return reply(w, http.StatusBadRequest, "body is not an audit.k8s.io Event or EventList: "+err.Error())
	}

	if ok, wait := lim.events.take(len(events), time.Now()); !ok {
		r.m.rejected[metrics.ReasonRateLimited].Inc()
		log.V(1).Info("audit webhook batch over the event rate limit", "events", len(events), "retryAfter", wait)
		return retryLater(w, wait, "event rate limit reached")
	}
	if len(events) > 0 {
		if err := r.sink(events); err != nil {
			lim.events.refund(len(events))
			if errors.Is(err, ErrBusy) {
				r.m.rejected[metrics.ReasonBusy].Inc()
				log.V(1).Info("audit webhook sink busy", "events", len(events))
				return retryLater(w, r.opts.BusyRetryAfter, "busy")
			}
			log.Error(err, "audit webhook sink failed", "events", len(events))
			return reply(w, http.StatusInternalServerError, "cannot take the batch")
		}
	}
	r.batchesAccepted.Add(1)
	r.eventsAccepted.Add(uint64(len(events)))
	r.m.events.Add(float64(len(events)))
	if malformed > 0 {
		// Counted with the batch, so a batch retried after a 429 counts once.
		r.malformed.Add(uint64(malformed))
		r.m.malformed.Add(float64(malformed))
		log.Info("audit webhook batch had malformed items; the rest was taken", "malformed", malformed, "events", len(events))
	}
	return reply(w, http.StatusOK, "")
}

// authorizeRequest checks the client of req, once per connection and client CA.
func (r *Receiver) authorizeRequest(req *http.Request, now time.Time) (string, error) {
	st := r.tls.Load()
	if st.clientCA == nil || req.TLS == nil {
		return authorize(nil, st.clientCA, st.allowed, now)
	}
	cache, _ := req.Context().Value(connAuthKey{}).(*connAuth)
	if cache != nil {
		if res := cache.result.Load(); res != nil && res.generation == st.generation {
			return res.name, res.err
		}
	}
	name, err := authorize(req.TLS.PeerCertificates, st.clientCA, st.allowed, now)
	if cache != nil {
		cache.result.Store(&authResult{generation: st.generation, name: name, err: err})
	}
	return name, err
}

func (r *Receiver) tooLarge(w http.ResponseWriter, log logr.Logger, limit, contentLength int64) int {
	r.m.rejected[metrics.ReasonTooLarge].Inc()
	log.Info("audit webhook body over maxRequestBytes", "maxRequestBytes", limit, "contentLength", contentLength)
	// The rest of the body is not read: close rather than drain it.
	w.Header().Set("Connection", "close")
	return reply(w, http.StatusRequestEntityTooLarge, "body over "+strconv.FormatInt(limit, 10)+" bytes")
}

func (r *Receiver) putBuffer(b *batchBuffer) {
	if b.body.Cap() > maxPooledBuffer {
		return
	}
	b.body.Reset()
	clear(b.events) // drop the strings the events hold
	b.events = b.events[:0]
	r.buffers.Put(b)
}

// retryLater answers 429 with Retry-After in whole seconds, at least one.
func retryLater(w http.ResponseWriter, after time.Duration, msg string) int {
	secs := int64(math.Ceil(after.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return reply(w, http.StatusTooManyRequests, msg)
}

func reply(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if msg != "" {
		_, _ = io.WriteString(w, msg+"\n")
	}
	return code
}

package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/audicia/audicia/internal/audit"
)

// ErrBusy is returned (possibly wrapped) by a Sink whose queue is full. The
// receiver then answers 429 with Retry-After and the batch counts as not
// received: kube-apiserver sends it again.
var ErrBusy = errors.New("webhook sink busy")

// ErrNoServingCertificate is returned by Start before SetServingCertificate
// succeeded.
var ErrNoServingCertificate = errors.New("webhook receiver has no serving certificate: set one before starting")

// Sink takes a decoded batch. It must not keep events after returning unless
// it copies them (the slice is reused), and it must be safe for concurrent
// use: batches arrive on several connections at once. Returning ErrBusy makes
// the receiver answer 429 with Retry-After and the batch counts as not
// received; any other error answers 500 (kube-apiserver retries 5xx too).
type Sink func(events []audit.Event) error

// Defaults for the zero values of Options.
const (
	DefaultAddr                  = ":8443"
	DefaultMaxRequestBytes int64 = 10 << 20
	DefaultBusyRetryAfter        = time.Second
)

// Timeouts of the HTTP server. kube-apiserver gives a webhook call 30s by default.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 90 * time.Second
	shutdownTimeout   = 15 * time.Second
	maxHeaderBytes    = 64 << 10
	// maxPooledBuffer keeps one rare huge body from pinning memory in the pool.
	maxPooledBuffer = 4 << 20
	// maxPreallocate bounds what a declared Content-Length reserves up front.
	maxPreallocate = 1 << 20
)

// Options configure a Receiver.
type Options struct {
	// Addr is the address to listen on, e.g. ":8443" (":0" picks a free
	// port). Empty means DefaultAddr.
	Addr string
	// MaxRequestBytes bounds a request body; larger ones get 413 and are read
	// no further than the limit (+1). Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// MaxEventsPerSecond is the event budget of a token bucket holding one
	// second's worth; 0 means no limit. A batch over the budget gets 429 with
	// Retry-After and is never partly accepted.
	MaxEventsPerSecond int
	// AllowedClientNames, with a client CA, lists the certificate CNs or DNS
	// SANs allowed to post; empty means any certificate the CA signed. Set
	// without a client CA, every request is refused (403).
	AllowedClientNames []string
	// Source is the AudiciaSource name, for log keys and the `source` label.
	Source string
	// BusyRetryAfter is the Retry-After sent when the sink is busy. Zero
	// means DefaultBusyRetryAfter.
	BusyRetryAfter time.Duration
	// NewDecoder makes the decoders of the receiver (one per concurrent
	// request), so the caller can set their Skip options. Nil means
	// audit.NewDecoder.
	NewDecoder func() *audit.Decoder
}

// Stats are the receiver's counters since New, for an AudiciaSource status.
type Stats struct {
	// BatchesAccepted and EventsAccepted count the batches answered 200 and
	// the events they held (the events the sink took).
	BatchesAccepted, EventsAccepted uint64
	// BatchesRejected counts the requests refused (any status but 200,
	// health checks excluded).
	BatchesRejected uint64
	// Malformed counts list items that could not be decoded plus whole bodies
	// that could not be decoded (each one).
	Malformed uint64
}

// Receiver is the HTTPS receiver of kube-apiserver's audit webhook.
type Receiver struct {
	opts   Options
	sink   Sink
	limits atomic.Pointer[limits]

	tlsMu sync.Mutex // serializes the Set* methods
	tls   atomic.Pointer[tlsState]

	decoders sync.Pool // *audit.Decoder
	buffers  sync.Pool // *batchBuffer

	started atomic.Bool
	addr    atomic.Pointer[net.Addr]
	ready   chan struct{}
	log     atomic.Pointer[logr.Logger]

	batchesAccepted, eventsAccepted, batchesRejected, malformed atomic.Uint64

	m receiverMetrics
}

// limits are the size and rate limits in force; SetLimits replaces them.
type limits struct {
	maxRequestBytes int64
	perSecond       int
	events          *bucket // nil: no rate limit
}

// batchBuffer is the reusable memory of one request.
type batchBuffer struct {
	body   bytes.Buffer
	events []audit.Event
}

// New returns a Receiver that hands batches to sink. It does not listen
// until Start, and Start needs a serving certificate (SetServingCertificate).
func New(opts Options, sink Sink) (*Receiver, error) {
	if sink == nil {
		return nil, errors.New("webhook receiver: nil sink")
	}
	if opts.BusyRetryAfter < 0 {
		return nil, fmt.Errorf("webhook receiver: negative busyRetryAfter %s", opts.BusyRetryAfter)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.BusyRetryAfter == 0 {
		opts.BusyRetryAfter = DefaultBusyRetryAfter
	}
	if opts.NewDecoder == nil {
		opts.NewDecoder = audit.NewDecoder
	}
	opts.AllowedClientNames = slices.Clone(opts.AllowedClientNames)
	r := &Receiver{
		opts:  opts,
		sink:  sink,
		ready: make(chan struct{}),
		m:     newReceiverMetrics(opts.Source),
	}
	if err := r.SetLimits(opts.MaxRequestBytes, opts.MaxEventsPerSecond); err != nil {
		return nil, err
	}
	r.decoders.New = func() any { return opts.NewDecoder() }
	r.buffers.New = func() any { return new(batchBuffer) }
	empty := &tlsState{allowed: opts.AllowedClientNames}
	empty.build()
	r.tls.Store(empty)
	return r, nil
}

// SetLimits replaces Options.MaxRequestBytes (0: the default) and
// Options.MaxEventsPerSecond (0: no limit) for the requests that follow. The
// event budget starts full when the rate changes and is kept otherwise.
func (r *Receiver) SetLimits(maxRequestBytes int64, maxEventsPerSecond int) error {
	if maxRequestBytes < 0 || maxEventsPerSecond < 0 {
		return fmt.Errorf("webhook receiver: negative limit (maxRequestBytes %d, maxEventsPerSecond %d)", maxRequestBytes, maxEventsPerSecond)
	}
	if maxRequestBytes == 0 {
		maxRequestBytes = DefaultMaxRequestBytes
	}
	next := &limits{maxRequestBytes: maxRequestBytes, perSecond: maxEventsPerSecond}
	if cur := r.limits.Load(); cur != nil && cur.perSecond == maxEventsPerSecond {
		next.events = cur.events
	} else {
		next.events = newBucket(maxEventsPerSecond, time.Now())
	}
	r.limits.Store(next)
	return nil
}

// Addr is the address the receiver listens on, nil before Start bound it.
func (r *Receiver) Addr() net.Addr {
	if a := r.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// Ready is closed once Start has bound its address and serves.
func (r *Receiver) Ready() <-chan struct{} { return r.ready }

// Stats returns the receiver's counters.
func (r *Receiver) Stats() Stats {
	return Stats{
		BatchesAccepted: r.batchesAccepted.Load(),
		EventsAccepted:  r.eventsAccepted.Load(),
		BatchesRejected: r.batchesRejected.Load(),
		Malformed:       r.malformed.Load(),
	}
}

// Start listens on Options.Addr and serves until ctx is done, then shuts
// down gracefully (requests in flight finish, up to 15s) and returns nil. It
// returns at once with an error when no serving certificate is set, when it
// was started before, or when it cannot bind (errors.Is(err,
// syscall.EADDRINUSE) for a port in use). A Receiver serves once; after a
// bind failure Start may be called again.
func (r *Receiver) Start(ctx context.Context) error {
	logger := ctrl.LoggerFrom(ctx).WithValues("source", r.opts.Source)
	r.log.Store(&logger)
	cert := r.tls.Load().cert
	if cert == nil {
		return ErrNoServingCertificate
	}
	r.warnIfOutsideValidity(cert)
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("webhook receiver already started")
	}
	ln, err := net.Listen("tcp", r.opts.Addr)
	if err != nil {
		r.started.Store(false) // the caller may try again once the port is free
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("webhook receiver: address %s already in use: %w", r.opts.Addr, err)
		}
		return fmt.Errorf("webhook receiver: listen on %s: %w", r.opts.Addr, err)
	}
	addr := ln.Addr()
	r.addr.Store(&addr)

	baseCtx := ctrl.LoggerInto(context.WithoutCancel(ctx), logger)
	srv := &http.Server{
		Handler:           r,
		TLSConfig:         r.serverTLSConfig(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(&serverLog{r: r, log: logger}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ConnContext:       func(ctx context.Context, _ net.Conn) context.Context { return withConnAuth(ctx) },
	}

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	logger.Info("audit webhook receiver listening", "addr", addr.String(), "mutualTLS", r.tls.Load().clientCA != nil)
	close(r.ready)

	select {
	case err := <-served:
		return fmt.Errorf("webhook receiver: serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("audit webhook receiver shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("webhook receiver: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook receiver: serve: %w", err)
	}
	return nil
}

func (r *Receiver) logger() logr.Logger {
	if l := r.log.Load(); l != nil {
		return *l
	}
	return logr.Discard()
}

// serverLog receives net/http's own messages. Failed TLS handshakes are
// counted; those about a certificate (a client refused by mutual TLS, a
// client that distrusts ours) are logged, the rest (port scanners, TCP
// probes that hang up) only at V(1).
type serverLog struct {
	r   *Receiver
	log logr.Logger
}

func (s *serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		s.r.m.handshakeErrors.Inc()
		if strings.Contains(msg, "certificate") {
			s.log.Info("webhook TLS handshake refused", "detail", msg)
		} else {
			s.log.V(1).Info("webhook TLS handshake failed", "detail", msg)
		}
	} else {
		s.log.Info("webhook HTTP server", "detail", msg)
	}
	return len(p), nil
}

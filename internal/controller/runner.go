package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
)

// batch is what an ingester hands its runner.
type batch struct {
	events []audit.Event
	// ends holds, for a file source, the position after each event's line.
	ends []v1alpha1.FilePosition
	// checkpoint is where a file source resumes after this batch.
	checkpoint *v1alpha1.FileCheckpoint
	// malformed counts lines or items that could not be decoded.
	malformed int64
}

// ingestState is what an ingester says about itself, for the Ingesting condition.
type ingestState struct {
	ok      bool
	reason  string
	message string
}

// ingester reads or receives the events of a source and sends them to out.
type ingester interface {
	// run ingests until ctx ends, resuming a file at from (nil: per the spec).
	// It calls state whenever its state changes.
	run(ctx context.Context, from *v1alpha1.FileCheckpoint, out chan<- batch, state func(ingestState)) error
	// undecodable counts what the ingester skipped before decoding or could
	// not decode (oversized lines, malformed webhook bodies) so far.
	undecodable() int64
}

// runnerHealth is a snapshot of a runner for the reconciler.
type runnerHealth struct {
	started  bool
	ingest   ingestState
	writeErr error
	counters v1alpha1.SourceCounters
	// recentDropped and recentMalformed are the losses of the last lossWindow.
	recentDropped, recentMalformed int64
	// homeless counts the reports waiting for their namespace to exist;
	// homelessNamespace is the first of those namespaces.
	homeless          int
	homelessNamespace string
}

// runner runs the pipeline of one source: ingestion, aggregation, and
// flushes of reports and checkpoint. It is the only writer of its reports
// and of the source's checkpoint and counters.
type runner struct {
	source     *v1alpha1.AudiciaSource
	generation int64
	config     runnerConfig
	ingest     ingester
	notify     func()

	mu     sync.Mutex
	health runnerHealth
	// abandoned skips the final flush (see abandon).
	abandoned atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the run goroutine.
	pipe        *pipeline.Pipeline
	writer      *reportWriter
	points      checkpoints
	base        v1alpha1.SourceCounters
	malformed   int64
	fed         *v1alpha1.FileCheckpoint
	lastWritten *sourceProgress
	exported    pipeline.Counters
	losses      losses
	log         logr.Logger
	// scoredGeneration is the RBAC generation the reports were last scored at.
	scoredGeneration uint64
	// rescore wakes the runner when live RBAC changed.
	rescore chan struct{}
}

// runnerConfig holds what every runner shares.
type runnerConfig struct {
	// rbac is the live RBAC the reports are scored against.
	rbac *rbacState
	// self is the operator's own username, whose requests are not counted.
	self                 string
	client               client.Client
	reader               client.Reader
	recorder             recorder.EventRecorder
	counterFlushInterval time.Duration
}

// defaultFlushInterval matches the API default of spec.flushInterval.
const defaultFlushInterval = 10 * time.Second

func flushInterval(spec *v1alpha1.AudiciaSourceSpec) time.Duration {
	if spec.FlushInterval != nil && spec.FlushInterval.Duration > 0 {
		return spec.FlushInterval.Duration
	}
	return defaultFlushInterval
}

// sourceProgress is the part of a source's status its runner writes.
type sourceProgress struct {
	Checkpoint *v1alpha1.FileCheckpoint `json:"checkpoint,omitempty"`
	Counters   v1alpha1.SourceCounters  `json:"counters"`
	Reports    int32                    `json:"reports"`
}

func newRunner(src *v1alpha1.AudiciaSource, cfg runnerConfig, in ingester, notify func()) (*runner, error) {
	pipe, err := pipeline.New(pipeline.OptionsFromSpec(&src.Spec))
	if err != nil {
		return nil, err
	}
	src = src.DeepCopy()
	return &runner{
		source:     src,
		generation: src.Generation,
		config:     cfg,
		ingest:     in,
		notify:     notify,
		pipe:       pipe,
		writer:     newReportWriter(cfg.client, cfg.recorder, src, policy.WithDefaults(src.Spec.Policy)),
		done:       make(chan struct{}),
		rescore:    make(chan struct{}, 1),
	}, nil
}

func (r *runner) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx)
}

// stop ends the runner after a final flush and waits for it.
func (r *runner) stop() {
	r.cancel()
	<-r.done
}

// abandon ends the runner without a final flush and waits for it: its
// source is gone, and its reports go with it.
func (r *runner) abandon() {
	r.abandoned.Store(true)
	r.stop()
}

func (r *runner) snapshot() runnerHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

func (r *runner) update(fn func(*runnerHealth)) {
	r.mu.Lock()
	before := r.health
	fn(&r.health)
	changed := before.ingest != r.health.ingest || (before.writeErr == nil) != (r.health.writeErr == nil) ||
		before.started != r.health.started || (before.recentDropped > 0) != (r.health.recentDropped > 0) ||
		(before.recentMalformed > 0) != (r.health.recentMalformed > 0) || before.homeless != r.health.homeless
	r.mu.Unlock()
	if changed {
		r.notify()
	}
}

func (r *runner) run(ctx context.Context) {
	defer close(r.done)
	r.log = ctrl.LoggerFrom(ctx).WithValues("source", r.source.Name)
	ctx = ctrl.LoggerInto(ctx, r.log)
	if !r.restore(ctx) {
		return
	}
	r.update(func(h *runnerHealth) { h.started = true })

	batches := make(chan batch, 64)
	ingestDone := make(chan error, 1)
	var stopIngest context.CancelFunc
	startIngest := func() {
		var ingestCtx context.Context
		ingestCtx, stopIngest = context.WithCancel(ctx)
		from := r.fed
		go func() { ingestDone <- r.ingest.run(ingestCtx, from, batches, r.setIngestState) }()
	}
	startIngest()
	ingesting := true
	flush := time.NewTicker(flushInterval(&r.source.Spec))
	defer flush.Stop()
	counters := time.NewTicker(r.config.counterFlushInterval)
	defer counters.Stop()
	var retry <-chan time.Time

	for {
		select {
		case b := <-batches:
			r.observe(&b)
		case <-flush.C:
			r.flush(ctx, false)
		case <-counters.C:
			r.flush(ctx, true)
		case <-r.rescore:
			r.flush(ctx, false)
		case err := <-ingestDone:
			ingesting = false
			if ctx.Err() == nil {
				r.ingestStopped(err)
				retry = time.After(retryDelay)
			}
		case <-retry:
			retry = nil
			// Ingestion resumes after the last batch observed: every batch
			// the stopped one sent is observed first, or it would be read twice.
			r.drain(batches)
			startIngest()
			ingesting = true
		case <-ctx.Done():
			stopIngest()
			if ingesting {
				<-ingestDone
			}
			if r.abandoned.Load() {
				return
			}
			r.drain(batches)
			// The manager is stopping: the last flush gets a little time of its own.
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			r.flush(final, true)
			cancel()
			return
		}
	}
}

// ingestStopped records why ingestion stopped, unless the ingester said so itself.
func (r *runner) ingestStopped(err error) {
	if err == nil {
		err = errors.New("ingestion stopped without an error")
	}
	r.log.Error(err, "ingestion stopped; retrying", "after", retryDelay)
	r.update(func(h *runnerHealth) {
		if h.ingest.ok || h.ingest.reason == "" {
			h.ingest = ingestState{reason: v1alpha1.ReasonIngestFailed, message: err.Error()}
		}
	})
}

const (
	retryDelay        = 5 * time.Second
	finalFlushTimeout = 20 * time.Second
)

// drain observes the batches ingestion sent before it stopped.
func (r *runner) drain(batches chan batch) {
	for {
		select {
		case b := <-batches:
			r.observe(&b)
		default:
			return
		}
	}
}

func (r *runner) setIngestState(s ingestState) {
	r.update(func(h *runnerHealth) { h.ingest = s })
}

// restore loads the source's checkpoint, counters and reports; it retries
// until it succeeds or ctx ends.
func (r *runner) restore(ctx context.Context) bool {
	for {
		err := r.load(ctx)
		if err == nil {
			return true
		}
		ctrl.LoggerFrom(ctx).Error(err, "restoring state; retrying")
		r.update(func(h *runnerHealth) { h.writeErr = err })
		select {
		case <-ctx.Done():
			return false
		case <-time.After(retryDelay):
		}
	}
}

func (r *runner) load(ctx context.Context) error {
	var src v1alpha1.AudiciaSource
	if err := r.config.reader.Get(ctx, types.NamespacedName{Name: r.source.Name}, &src); err != nil {
		return fmt.Errorf("reading the source: %w", err)
	}
	if err := r.writer.restore(ctx, r.config.reader, r.pipe); err != nil {
		return err
	}
	r.base = src.Status.Counters
	r.losses.add(time.Now(), r.base)
	r.lastWritten = &sourceProgress{Checkpoint: src.Status.Checkpoint, Counters: src.Status.Counters, Reports: src.Status.Reports}
	if cp := src.Status.Checkpoint; cp != nil && r.source.Spec.File != nil {
		r.fed = cp.DeepCopy()
		r.points.add(flushPoint{checkpoint: *cp, counters: r.base})
	}
	return nil
}

func (r *runner) observe(b *batch) {
	for i := range b.events {
		if b.events[i].User.Username == r.config.self {
			// The operator's own requests (writing reports) would feed back
			// into the counters and keep it writing forever.
			continue
		}
		if b.ends != nil {
			r.pipe.ObserveAt(&b.events[i], b.ends[i])
		} else {
			r.pipe.Observe(&b.events[i])
		}
	}
	r.malformed += b.malformed
	if b.checkpoint != nil {
		if r.fed == nil || r.fed.FileIdentity != b.checkpoint.FileIdentity {
			r.log.Info("reading audit log file", "identity", b.checkpoint.FileIdentity, "sequence", b.checkpoint.Position.Sequence)
		}
		last := r.fed.DeepCopy()
		r.fed = b.checkpoint
		if n := len(b.events); n > 0 {
			at := metav1.NewTime(time.Unix(0, b.events[n-1].RequestReceivedNanos).UTC())
			r.fed.LastEventTime = &at
		} else if last != nil {
			r.fed.LastEventTime = last.LastEventTime
		}
	}
}

// counters are the source's counters now: those restored plus what this
// runner counted.
func (r *runner) counters() v1alpha1.SourceCounters {
	c := r.pipe.Counters()
	return v1alpha1.SourceCounters{
		Received:  r.base.Received + c.Received,
		Processed: r.base.Processed + c.Processed,
		Filtered:  r.base.Filtered + c.Filtered,
		Refused:   r.base.Refused + c.Refused,
		Malformed: r.base.Malformed + c.Malformed + r.malformed + r.ingest.undecodable(),
		Dropped:   r.base.Dropped + c.Dropped,
	}
}

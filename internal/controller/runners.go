package controller

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/audicia/audicia/api/v1alpha1"
)

// Runners holds the runner of every source. It is a manager runnable: runners
// live as long as the manager leads, and stop with a final flush when it
// stops. The reconciler starts, restarts and stops them.
type Runners struct {
	config runnerConfig
	// Events wakes the reconciler of a source whose runner changed state.
	events chan event.GenericEvent

	mu      sync.Mutex
	ctx     context.Context
	started chan struct{}
	runners map[string]*runner
}

func newRunners(cfg runnerConfig) *Runners {
	return &Runners{
		config:  cfg,
		events:  make(chan event.GenericEvent, 1024),
		started: make(chan struct{}),
		runners: make(map[string]*runner),
	}
}

// Start runs until ctx ends, then stops every runner.
func (rs *Runners) Start(ctx context.Context) error {
	rs.mu.Lock()
	rs.ctx = ctx
	close(rs.started)
	rs.mu.Unlock()

	<-ctx.Done()
	rs.mu.Lock()
	running := make([]*runner, 0, len(rs.runners))
	for _, r := range rs.runners {
		running = append(running, r)
	}
	rs.runners = map[string]*runner{}
	rs.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range running {
		wg.Go(r.stop)
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection: only the leader ingests and writes.
func (rs *Runners) NeedLeaderElection() bool { return true }

// ensure returns the source's runner, starting it, or restarting it when the
// spec changed since it started.
func (rs *Runners) ensure(ctx context.Context, src *v1alpha1.AudiciaSource, tls *tlsMaterial) (*runner, error) {
	select {
	case <-rs.started:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rs.mu.Lock()
	old := rs.runners[src.Name]
	if old != nil && old.generation == src.Generation {
		rs.mu.Unlock()
		if w, ok := old.ingest.(*webhookIngester); ok && tls != nil {
			return old, w.setTLS(*tls)
		}
		return old, nil
	}
	delete(rs.runners, src.Name)
	rs.mu.Unlock()
	// The old runner's final flush may take many seconds: readiness checks
	// and RBAC wake-ups of the other runners go on meanwhile. A source's
	// reconciles never run at once, so no other ensure starts this one.
	if old != nil {
		old.stop()
	}
	r, err := newRunner(src, rs.config, newIngester(src, tls), rs.notifier(src.Name))
	if err != nil {
		return nil, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.ctx.Err(); err != nil {
		return nil, err // stopping: Start no longer stops what is added
	}
	r.start(rs.ctx)
	rs.runners[src.Name] = r
	return r, nil
}

func newIngester(src *v1alpha1.AudiciaSource, tls *tlsMaterial) ingester {
	skip := src.Spec.IgnoreSystemUsers == nil || *src.Spec.IgnoreSystemUsers
	if src.Spec.File != nil {
		return &fileIngester{source: src.Name, spec: *src.Spec.File, skipSystemUsers: skip}
	}
	w := &webhookIngester{source: src.Name, spec: *src.Spec.Webhook, skipSystemUsers: skip}
	if tls != nil {
		w.tls = *tls
	}
	return w
}

// notifier wakes the reconciler of the named source without ever blocking
// the runner; a full queue already holds a wake-up.
func (rs *Runners) notifier(name string) func() {
	obj := &v1alpha1.AudiciaSource{}
	obj.Name = name
	return func() {
		select {
		case rs.events <- event.GenericEvent{Object: obj}:
		default:
		}
	}
}

// rbacChanged wakes every runner to score its subjects again.
func (rs *Runners) rbacChanged() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.runners {
		select {
		case r.rescore <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// stop stops the source's runner, if it has one, after a final flush.
func (rs *Runners) stop(name string) {
	if r := rs.remove(name); r != nil {
		r.stop()
	}
}

// abandon stops the runner of a deleted source, if it has one, without a
// final flush: writing its reports and status now would only recreate what
// the garbage collector is deleting.
func (rs *Runners) abandon(name string) {
	if r := rs.remove(name); r != nil {
		r.abandon()
	}
}

func (rs *Runners) remove(name string) *runner {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.runners[name]
	delete(rs.runners, name)
	return r
}

// ReadyCheck is a readiness check: a leader is ready once every runner has
// restored its state and none has died. A replica that does not lead has
// nothing to run and is ready.
func (rs *Runners) ReadyCheck(_ *http.Request) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var waiting []string
	for name, r := range rs.runners {
		select {
		case <-r.done:
			waiting = append(waiting, name+" (stopped)")
			continue
		default:
		}
		if !r.snapshot().started {
			waiting = append(waiting, name)
		}
	}
	if len(waiting) > 0 {
		sort.Strings(waiting)
		return fmt.Errorf("pipelines not running: %v", waiting)
	}
	return nil
}

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/metrics"
)

// flush writes the reports that changed, then the source's progress. The
// order matters: a checkpoint never passes what the reports hold.
func (r *runner) flush(ctx context.Context, counterFlush bool) {
	forgot := false
	if retention := r.source.Spec.Limits.Retention; retention != nil && retention.Duration > 0 {
		before := r.pipe.Subjects()
		r.pipe.Forget(time.Now().Add(-retention.Duration))
		forgot = r.pipe.Subjects() < before
	}
	var covered *v1alpha1.FilePosition
	if r.fed != nil {
		covered = &r.fed.Position
	}
	sc, rescore := r.scorer(ctx)
	if sc != nil && (rescore || forgot) {
		// ServiceAccounts that hold permissions but never call get reports
		// too: all they hold is excess.
		for _, s := range sc.view.index.Subjects() {
			if serviceaccount.MakeUsername(s.Namespace, s.Name) != r.config.self {
				r.pipe.Track(s)
			}
		}
	}
	err := r.writer.flush(ctx, r.pipe, covered, counterFlush, sc, rescore)
	if err == nil && sc != nil {
		r.scoredGeneration = sc.view.generation
	}
	if err == nil && counterFlush {
		// Every line read moves the checkpoint, the control plane's own
		// requests included; like counts, it is written in batches.
		err = r.writeProgress(ctx)
	}
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "flush failed; the next flush retries")
	}
	counters := r.counters()
	dropped, malformed := r.losses.add(time.Now(), counters)
	homeless, namespace := r.writer.homelessSummary()
	r.update(func(h *runnerHealth) {
		h.writeErr, h.counters, h.recentDropped, h.recentMalformed = err, counters, dropped, malformed
		h.homeless, h.homelessNamespace = homeless, namespace
	})
	r.exportMetrics()
}

// exportMetrics adds what the pipeline counted since the last flush to the
// Prometheus counters.
func (r *runner) exportMetrics() {
	now, before, src := r.pipe.Counters(), r.exported, r.source.Name
	now.Malformed += r.malformed
	add := func(c *prometheus.CounterVec, delta int64) { c.WithLabelValues(src).Add(float64(delta)) }
	add(metrics.EventsReceived, now.Received-before.Received)
	add(metrics.EventsProcessed, now.Processed-before.Processed)
	add(metrics.EventsFiltered, now.Filtered-before.Filtered)
	add(metrics.EventsMalformed, now.Malformed-before.Malformed)
	add(metrics.EventsDropped, now.Dropped-before.Dropped)
	metrics.Subjects.WithLabelValues(src).Set(float64(r.pipe.Subjects()))
	bySeverity := map[v1alpha1.Severity]int{v1alpha1.SeverityGreen: 0, v1alpha1.SeverityYellow: 0, v1alpha1.SeverityRed: 0}
	for _, w := range r.writer.written {
		if c := w.scored.compliance; c != nil {
			bySeverity[c.Severity]++
		}
	}
	for severity, n := range bySeverity {
		metrics.SubjectsBySeverity.WithLabelValues(src, string(severity)).Set(float64(n))
	}
	r.exported = now
}

// scorer scores against the current live RBAC; rescore says that RBAC
// changed since the last successful flush. Without a view of live RBAC the
// reports are still written, with the scores they had.
func (r *runner) scorer(ctx context.Context) (*scorer, bool) {
	v, err := r.config.rbac.current(ctx)
	if err != nil {
		r.log.Error(err, "scoring against live RBAC; reports keep their last scores")
		return nil, false
	}
	return newScorer(v, r.source.Spec.Compliance, metav1.Now()), v.generation != r.scoredGeneration
}

// writeProgress writes the checkpoint, counters and report count to the
// source's status when they changed.
func (r *runner) writeProgress(ctx context.Context) error {
	progress := sourceProgress{Counters: r.counters(), Reports: int32(len(r.writer.written))}
	if r.fed != nil {
		r.points.add(flushPoint{checkpoint: *r.fed.DeepCopy(), counters: progress.Counters})
		limit := r.fed.Position
		if pending, ok := r.writer.oldestPending(); ok && pending.Less(limit) {
			limit = pending
		}
		point, ok := r.points.safe(limit)
		if !ok {
			return nil // no position yet that every report covers
		}
		progress.Checkpoint, progress.Counters = &point.checkpoint, point.counters
	}
	if equality.Semantic.DeepEqual(&progress, r.lastWritten) {
		return nil
	}
	data, err := json.Marshal(map[string]any{"status": &progress})
	if err != nil {
		return err
	}
	src := &v1alpha1.AudiciaSource{ObjectMeta: metav1.ObjectMeta{Name: r.source.Name}}
	if err := r.config.client.Status().Patch(ctx, src, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("writing the checkpoint: %w", err)
	}
	r.lastWritten = &progress
	return nil
}

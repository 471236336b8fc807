package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/metrics"
	"github.com/audicia/audicia/internal/pipeline"
)

// reportWriter writes the AudiciaPolicyReports of one source and remembers
// what it wrote, so that unchanged reports cost the API server nothing.
type reportWriter struct {
	client   client.Client
	recorder recorder.EventRecorder
	source   *v1alpha1.AudiciaSource
	strategy v1alpha1.PolicyStrategy
	written  map[v1alpha1.Subject]*written
	// failed holds the subjects whose last write failed, tried again at the
	// next flush whether or not they changed.
	failed map[v1alpha1.Subject]bool
	// homeless holds the ServiceAccounts whose namespace does not exist, as
	// when a log outlives the namespaces it names. Their reports cannot be
	// written until it does; they are tried again when they make requests
	// and at counter flushes, and hold back neither the checkpoint nor
	// readiness.
	homeless map[v1alpha1.Subject]bool
}

func newReportWriter(c client.Client, rec recorder.EventRecorder, src *v1alpha1.AudiciaSource, strategy v1alpha1.PolicyStrategy) *reportWriter {
	return &reportWriter{client: c, recorder: rec, source: src, strategy: strategy,
		written: make(map[v1alpha1.Subject]*written), homeless: make(map[v1alpha1.Subject]bool)}
}

// restore loads the source's existing reports into the pipeline: a restarted
// operator continues their counts instead of starting over.
func (w *reportWriter) restore(ctx context.Context, reader client.Reader, p *pipeline.Pipeline) error {
	// The label narrows the list to this source's reports (a long name's
	// label value may be shared); spec.sourceRef holds the full name.
	var list v1alpha1.AudiciaPolicyReportList
	if err := reader.List(ctx, &list, client.MatchingLabels{labelSource: sourceLabelValue(w.source.Name)}); err != nil {
		return fmt.Errorf("listing reports to restore: %w", err)
	}
	for i := range list.Items {
		apr := &list.Items[i]
		if apr.Spec.SourceRef.Name != w.source.Name {
			continue
		}
		r, covered := subjectReport(apr), apr.Status.SourcePosition
		if covered != nil {
			p.RestoreAt(r, *covered)
		} else {
			p.Restore(r)
		}
		rules := contentKey(r.Rules, w.strategy)
		if !w.suggestionCurrent(&r, apr) {
			rules = 0 // written under another strategy or version: rewrite
		}
		score := scored{compliance: apr.Status.Compliance, drift: apr.Status.Drift}
		score.key = scoredKey(score.compliance, score.drift)
		w.written[r.Subject] = &written{report: withoutStatus(apr), rules: rules, scored: score,
			events: r.EventsObserved, dropped: r.DroppedRequests, covered: covered}
	}
	return nil
}

// withoutStatus drops what the pipeline holds anyway: a written report is
// remembered for its name and resourceVersion.
func withoutStatus(apr *v1alpha1.AudiciaPolicyReport) *v1alpha1.AudiciaPolicyReport {
	apr.Status = v1alpha1.AudiciaPolicyReportStatus{}
	return apr
}

func (w *reportWriter) suggestionCurrent(r *pipeline.SubjectReport, apr *v1alpha1.AudiciaPolicyReport) bool {
	want := reportStatus(r, w.strategy, nil)
	return apr.Status.SuggestedPolicy != nil && apr.Status.SuggestedPolicy.Manifest == want.SuggestedPolicy.Manifest
}

// flush writes the reports that changed; counts alone are written only when
// counterFlush is set. covered is how far a file source has read (nil for
// webhook sources). sc scores the subjects whose rules changed, or every
// subject when rescore is set (live RBAC changed); nil when live RBAC cannot
// be read. It returns the first error; reports not written stay pending.
func (w *reportWriter) flush(ctx context.Context, p *pipeline.Pipeline, covered *v1alpha1.FilePosition, counterFlush bool, sc *scorer, rescore bool) error {
	var errs []error
	retry := w.failed
	w.failed = map[v1alpha1.Subject]bool{}
	visit := func(r pipeline.SubjectReport) error {
		delete(retry, r.Subject)
		if err := w.flushOne(ctx, &r, covered, counterFlush, sc, rescore); err != nil {
			w.failed[r.Subject] = true
			errs = append(errs, fmt.Errorf("report of %s: %w", r.Subject, err))
		}
		return nil
	}
	// Only subjects that changed since the last flush can need a write,
	// unless their scores must be computed again; those whose write failed
	// are tried again.
	if rescore {
		_ = p.EachReport(visit)
	} else {
		_ = p.EachChangedReport(visit)
	}
	again := slices.SortedFunc(maps.Keys(retry), pipeline.CompareSubjects)
	if counterFlush {
		again = append(again, w.postponed()...)
		again = append(again, slices.SortedFunc(maps.Keys(w.homeless), pipeline.CompareSubjects)...)
	}
	for _, s := range again {
		if r, ok := p.Report(s); ok && !w.failed[s] {
			_ = visit(r)
		}
	}
	errs = append(errs, w.deleteForgotten(ctx, p)...)
	return writeFailures(errs)
}

// deleteForgotten deletes the reports of the subjects the pipeline no longer
// holds: retention dropped every rule they had, and a report left in place
// would go on suggesting them.
func (w *reportWriter) deleteForgotten(ctx context.Context, p *pipeline.Pipeline) []error {
	for s := range w.homeless {
		if !p.Tracks(s) {
			delete(w.homeless, s)
		}
	}
	var errs []error
	for s, wr := range w.written {
		if p.Tracks(s) {
			continue
		}
		err := w.client.Delete(ctx, wr.report, client.Preconditions{UID: &wr.report.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("deleting the report of %s, whose rules all expired: %w", s, err))
			continue
		}
		ctrl.LoggerFrom(ctx).Info("report deleted: every rule it held expired", "subject", s.String())
		delete(w.written, s)
	}
	return errs
}

// writeFailures sums up the failed writes of a flush in one error. Its
// message becomes the source's Degraded and Ready message, which must stay
// short however many reports failed: the first failure stands for the rest.
func writeFailures(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%d reports not written; the first: %w", len(errs), errs[0])
}

// flushOne writes the report of one subject when the write policy says so.
func (w *reportWriter) flushOne(ctx context.Context, r *pipeline.SubjectReport, covered *v1alpha1.FilePosition, counterFlush bool, sc *scorer, rescore bool) error {
	prev := w.written[r.Subject]
	next := written{rules: contentKey(r.Rules, w.strategy), events: r.EventsObserved, dropped: r.DroppedRequests, covered: covered}
	if prev != nil {
		next.scored = prev.scored
	}
	if sc != nil && (prev == nil || prev.rules != next.rules || rescore) {
		next.scored = sc.score(r)
	}
	switch decideWrite(prev, &next, counterFlush) {
	case keep:
		return nil
	case postpone:
		prev.postponed = true
		return nil
	}
	err := w.write(ctx, r, prev, &next)
	metrics.ReportWrites.WithLabelValues(w.source.Name, writeResult(prev, err)).Inc()
	switch {
	case err == nil:
		delete(w.homeless, r.Subject)
	case r.Subject.Kind == v1alpha1.SubjectKindServiceAccount && namespaceMissing(err):
		if !w.homeless[r.Subject] {
			ctrl.LoggerFrom(ctx).Info("report not written: its namespace does not exist", "subject", r.Subject.String())
		}
		w.homeless[r.Subject] = true
		delete(w.written, r.Subject)
		return nil
	case prev != nil:
		prev.postponed = true
	}
	return err
}

// namespaceMissing reports whether a write failed because the namespace does
// not exist or is being deleted.
func namespaceMissing(err error) bool {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	details := status.Status().Details
	return details != nil && details.Kind == "namespaces"
}

// homelessSummary counts the reports waiting for their namespace and names
// the first of those namespaces.
func (w *reportWriter) homelessSummary() (n int, first string) {
	for s := range w.homeless {
		if first == "" || s.Namespace < first {
			first = s.Namespace
		}
	}
	return len(w.homeless), first
}

// postponed lists the subjects whose reports lag the pipeline's counts.
func (w *reportWriter) postponed() []v1alpha1.Subject {
	var out []v1alpha1.Subject
	for s, wr := range w.written {
		if wr.postponed {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, pipeline.CompareSubjects)
	return out
}

func writeResult(prev *written, err error) string {
	switch {
	case err != nil:
		return metrics.ResultError
	case prev == nil:
		return metrics.ResultCreated
	default:
		return metrics.ResultUpdated
	}
}

// oldestPending is the earliest position a pending report covers: the
// checkpoint must not pass it, or a crash would lose the counts it lacks.
func (w *reportWriter) oldestPending() (oldest v1alpha1.FilePosition, ok bool) {
	for _, wr := range w.written {
		if !wr.postponed {
			continue
		}
		covered := ptr.Deref(wr.covered, v1alpha1.FilePosition{})
		if !ok || covered.Less(oldest) {
			oldest, ok = covered, true
		}
	}
	return oldest, ok
}

// write writes the report over what was written before (prev, nil for none).
func (w *reportWriter) write(ctx context.Context, r *pipeline.SubjectReport, prev, next *written) error {
	status := reportStatus(r, w.strategy, next.covered)
	status.Compliance, status.Drift = next.scored.compliance, next.scored.drift
	var apr *v1alpha1.AudiciaPolicyReport
	var err error
	if prev != nil {
		apr = prev.report.DeepCopy()
	} else if apr, err = w.create(ctx, r.Subject); err != nil {
		return err
	}
	apr.Status = status
	err = w.client.Status().Update(ctx, apr)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// Changed or deleted by someone else: write over the current object.
		if apr, err = w.current(ctx, r.Subject); err != nil {
			return err
		}
		apr.Status = status
		err = w.client.Status().Update(ctx, apr)
	}
	if err != nil {
		return err
	}
	if prev != nil {
		w.recordSeverityChange(ctx, apr, prev.scored.compliance, status.Compliance)
	}
	next.report = withoutStatus(apr)
	w.written[r.Subject] = next
	return nil
}

// recordSeverityChange emits an Event on the report, and logs, when its
// compliance severity changed.
func (w *reportWriter) recordSeverityChange(ctx context.Context, apr *v1alpha1.AudiciaPolicyReport, before, after *v1alpha1.Compliance) {
	if before == nil || after == nil || before.Severity == after.Severity {
		return
	}
	eventType := corev1.EventTypeNormal
	if after.Severity == v1alpha1.SeverityRed || (after.Severity == v1alpha1.SeverityYellow && before.Severity == v1alpha1.SeverityGreen) {
		eventType = corev1.EventTypeWarning
	}
	ctrl.LoggerFrom(ctx).Info("compliance severity changed", "subject", apr.Spec.Subject.String(),
		"from", before.Severity, "to", after.Severity, "score", after.Score)
	w.recorder.Eventf(apr, nil, eventType, "SeverityChanged", "Score",
		"%s: compliance %s (score %d) -> %s (score %d)", apr.Spec.Subject, before.Severity, before.Score, after.Severity, after.Score)
}

// current returns the subject's report as the API server has it, creating it
// when it is gone.
func (w *reportWriter) current(ctx context.Context, s v1alpha1.Subject) (*v1alpha1.AudiciaPolicyReport, error) {
	apr := &v1alpha1.AudiciaPolicyReport{}
	key := client.ObjectKey{Namespace: reportNamespace(w.source, s), Name: reportName(w.source.Name, s)}
	err := w.client.Get(ctx, key, apr)
	if apierrors.IsNotFound(err) {
		return w.create(ctx, s)
	}
	return apr, err
}

func (w *reportWriter) create(ctx context.Context, s v1alpha1.Subject) (*v1alpha1.AudiciaPolicyReport, error) {
	apr := &v1alpha1.AudiciaPolicyReport{
		ObjectMeta: metav1.ObjectMeta{
			Name:      reportName(w.source.Name, s),
			Namespace: reportNamespace(w.source, s),
			Labels:    map[string]string{labelSource: sourceLabelValue(w.source.Name)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         v1alpha1.GroupVersion.String(),
				Kind:               "AudiciaSource",
				Name:               w.source.Name,
				UID:                w.source.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: v1alpha1.AudiciaPolicyReportSpec{Subject: s, SourceRef: v1alpha1.SourceReference{Name: w.source.Name}},
	}
	err := w.client.Create(ctx, apr)
	if apierrors.IsAlreadyExists(err) {
		err = w.client.Get(ctx, client.ObjectKeyFromObject(apr), apr)
	}
	return apr, err
}

// labelSource marks the reports of a source, for `kubectl get apr -l`.
const labelSource = "audicia.io/source"

// sourceLabelValue is the source name when it fits a label value, else a
// prefix of it with a hash; spec.sourceRef always has the full name.
func sourceLabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	return name[:56] + "-" + shortHash(name)
}

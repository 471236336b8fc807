package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
)

// reportName is the name of the report of a subject seen by a source: the
// subject's slug, readable and unique per subject, and a short hash of the
// source, so two sources seeing one subject never collide.
func reportName(source string, s v1alpha1.Subject) string {
	return policy.SubjectSlug(s) + "-" + shortHash(source)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:6]
}

// reportNamespace is where a subject's report lives: a ServiceAccount's own
// namespace, so that namespace teams can read it, else the source's.
func reportNamespace(src *v1alpha1.AudiciaSource, s v1alpha1.Subject) string {
	if s.Kind == v1alpha1.SubjectKindServiceAccount {
		return s.Namespace
	}
	if src.Spec.ReportNamespace != "" {
		return src.Spec.ReportNamespace
	}
	return defaultReportNamespace
}

// defaultReportNamespace matches the API default of spec.reportNamespace.
const defaultReportNamespace = "audicia-system"

// contentKey identifies what a report says, leaving out counts and times: the
// rules, their object names, whether any was denied or allowed, and the
// strategy that shapes the suggestion. Reports are rewritten at once when it changes; a
// change in counts alone waits for the next counter flush.
func contentKey(rules []v1alpha1.ObservedRule, strategy v1alpha1.PolicyStrategy) uint64 {
	h := fnv.New64a()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(string(strategy.ScopeMode) + string(strategy.VerbMerge) + string(strategy.Wildcards) + string(strategy.ResourceNames))
	for _, r := range rules {
		write(r.APIGroup)
		write(r.Resource)
		write(r.NonResourceURL)
		write(r.Namespace)
		write(r.Verb)
		write(strconv.Itoa(len(r.ResourceNames)))
		for _, n := range r.ResourceNames {
			write(n)
		}
		// Whether a rule was ever denied, and ever allowed, is content: the
		// first makes it uncovered, the second makes its grant used.
		write(strconv.FormatBool(r.DeniedCount > 0))
		write(strconv.FormatBool(r.Count > r.DeniedCount))
	}
	return h.Sum64()
}

// writeDecision says what a flush does with a subject's report.
type writeDecision int

const (
	// keep: nothing changed since the report was written.
	keep writeDecision = iota
	// write the report now.
	write
	// postpone: only counts changed; write at the next counter flush.
	postpone
)

// written is what the operator last wrote (or found) for a subject.
type written struct {
	report *v1alpha1.AudiciaPolicyReport
	// rules is the contentKey of the rules; scored their compliance.
	rules   uint64
	scored  scored
	events  int64
	dropped int64
	// covered is how far the file source had read when the report was
	// written; nil for webhook sources.
	covered *v1alpha1.FilePosition
	// postponed is set while the report lags the pipeline's counts.
	postponed bool
}

// decideWrite is the write policy of reports: new subjects, new rules and new
// scores are written at once, counts are batched until counterFlush.
func decideWrite(prev, next *written, counterFlush bool) writeDecision {
	switch {
	case prev == nil || prev.rules != next.rules || prev.scored.key != next.scored.key:
		return write
	case prev.events == next.events && prev.dropped == next.dropped:
		return keep
	case counterFlush:
		return write
	default:
		return postpone
	}
}

// reportStatus is the status of a subject's report.
func reportStatus(r *pipeline.SubjectReport, strategy v1alpha1.PolicyStrategy, covered *v1alpha1.FilePosition) v1alpha1.AudiciaPolicyReportStatus {
	suggested := policy.Build(r.Subject, r.Rules, strategy)
	last := metav1.NewTime(r.LastEventTime)
	return v1alpha1.AudiciaPolicyReportStatus{
		ObservedRules:   r.Rules,
		RuleCount:       int32(len(r.Rules)),
		SuggestedPolicy: &suggested,
		EventsObserved:  r.EventsObserved,
		DroppedRequests: r.DroppedRequests,
		LastEventTime:   &last,
		Groups:          r.Groups,
		SourcePosition:  covered,
	}
}

// subjectReport reads back what a report holds, to restore the pipeline.
func subjectReport(apr *v1alpha1.AudiciaPolicyReport) pipeline.SubjectReport {
	r := pipeline.SubjectReport{
		Subject:         apr.Spec.Subject,
		Rules:           apr.Status.ObservedRules,
		EventsObserved:  apr.Status.EventsObserved,
		DroppedRequests: apr.Status.DroppedRequests,
		Groups:          apr.Status.Groups,
	}
	if apr.Status.LastEventTime != nil {
		r.LastEventTime = apr.Status.LastEventTime.Time
	}
	return r
}

package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

// problem is why a source cannot run; the message names what to fix.
type problem struct {
	reason  string
	message string
}

func (p *problem) Error() string { return p.reason + ": " + p.message }

// reasonStarting: the runner is restoring reports and checkpoint.
const reasonStarting = "Starting"

// sourceConditions are the Ingesting, Degraded and Ready conditions of a
// source that cannot run (p) or whose runner reports h.
func sourceConditions(p *problem, h *runnerHealth) []metav1.Condition {
	ingesting := metav1.Condition{Type: v1alpha1.ConditionIngesting}
	switch {
	case p != nil:
		ingesting.Status, ingesting.Reason, ingesting.Message = metav1.ConditionFalse, p.reason, p.message
	case !h.started:
		ingesting.Status, ingesting.Reason, ingesting.Message = metav1.ConditionUnknown, reasonStarting, "restoring reports and checkpoint"
	case h.ingest.reason == "":
		ingesting.Status, ingesting.Reason, ingesting.Message = metav1.ConditionUnknown, reasonStarting, "ingestion is starting"
	case h.ingest.ok:
		ingesting.Status, ingesting.Reason, ingesting.Message = metav1.ConditionTrue, h.ingest.reason, h.ingest.message
	default:
		ingesting.Status, ingesting.Reason, ingesting.Message = metav1.ConditionFalse, h.ingest.reason, h.ingest.message
	}

	degraded := metav1.Condition{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionTrue}
	switch {
	case p != nil:
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionFalse, p.reason, "the source is not running"
	case h.writeErr != nil:
		degraded.Reason, degraded.Message = v1alpha1.ReasonReportWriteFailed, h.writeErr.Error()
	case h.homeless > 0:
		degraded.Reason = v1alpha1.ReasonNamespaceMissing
		degraded.Message = fmt.Sprintf("%d ServiceAccount reports not written: their namespaces (%q first) do not exist; "+
			"they are written when they do, and their requests are still counted", h.homeless, h.homelessNamespace)
	case h.recentDropped > 0:
		degraded.Reason = v1alpha1.ReasonLimitReached
		degraded.Message = fmt.Sprintf("%d requests dropped by limits.maxSubjects or limits.maxRulesPerReport in the last %s (%d since the source was created)",
			h.recentDropped, lossWindow, h.counters.Dropped)
	case h.recentMalformed > 0:
		degraded.Reason = v1alpha1.ReasonMalformedInput
		degraded.Message = fmt.Sprintf("%d lines or events could not be decoded and were skipped in the last %s (%d since the source was created)",
			h.recentMalformed, lossWindow, h.counters.Malformed)
	default:
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionFalse, v1alpha1.ReasonSucceeded, "nothing lost"
	}

	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: v1alpha1.ReasonSucceeded, Message: "ingesting and writing reports"}
	switch {
	case ingesting.Status != metav1.ConditionTrue:
		ready.Status, ready.Reason, ready.Message = ingesting.Status, ingesting.Reason, ingesting.Message
	case degraded.Reason == v1alpha1.ReasonReportWriteFailed:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, degraded.Reason, degraded.Message
	}
	return []metav1.Condition{ready, ingesting, degraded}
}

package controller

import (
	"encoding/json"
	"hash/fnv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/compliance"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/rbac"
)

// scorer scores subjects against one view of live RBAC.
type scorer struct {
	view       view
	thresholds compliance.Thresholds
	now        metav1.Time
}

func newScorer(v view, t v1alpha1.ComplianceThresholds, now metav1.Time) *scorer {
	return &scorer{view: v, thresholds: compliance.Thresholds{Green: int(t.Green), Yellow: int(t.Yellow)}, now: now}
}

// scored is a subject's compliance and drift, and a key of their content.
type scored struct {
	compliance *v1alpha1.Compliance
	drift      *v1alpha1.Drift
	key        uint64
}

func (s *scorer) score(r *pipeline.SubjectReport) scored {
	res := s.view.catalog.Evaluate(s.view.index.Grants(r.Subject, r.Groups), r.Rules, s.thresholds)
	out := scored{compliance: complianceOf(&res, s.now), drift: driftOf(&res.Drift)}
	out.key = scoredKey(out.compliance, out.drift)
	return out
}

func complianceOf(r *compliance.Result, at metav1.Time) *v1alpha1.Compliance {
	return &v1alpha1.Compliance{
		Score:            int32(r.Score),
		Severity:         v1alpha1.Severity(r.Severity),
		Granted:          int32(r.Granted),
		Used:             int32(r.Used),
		Excess:           int32(r.Excess),
		Uncovered:        int32(r.Uncovered),
		ExcessRules:      scopedRules(r.ExcessRules),
		UncoveredRules:   scopedRules(r.UncoveredRules),
		SensitiveExcess:  r.SensitiveExcess,
		Bindings:         bindingRefs(r.Bindings),
		BaselineBindings: bindingRefs(r.BaselineBindings),
		EvaluatedAt:      at,
	}
}

func driftOf(d *compliance.Drift) *v1alpha1.Drift {
	return &v1alpha1.Drift{Missing: scopedRules(d.Missing), Excess: scopedRules(d.Excess)}
}

func scopedRules(rules []compliance.ScopedRule) []v1alpha1.ScopedRule {
	if len(rules) == 0 {
		return nil
	}
	out := make([]v1alpha1.ScopedRule, len(rules))
	for i, r := range rules {
		out[i] = v1alpha1.ScopedRule{Namespace: r.Namespace, PolicyRule: r.PolicyRule}
	}
	return out
}

func bindingRefs(refs []rbac.BindingRef) []v1alpha1.BindingReference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]v1alpha1.BindingReference, len(refs))
	for i, b := range refs {
		out[i] = v1alpha1.BindingReference(b)
	}
	return out
}

// scoredKey identifies a score's content, leaving out when it was computed:
// a report is rewritten when its score changes, not when it is recomputed.
func scoredKey(c *v1alpha1.Compliance, d *v1alpha1.Drift) uint64 {
	if c == nil {
		return 0
	}
	withoutTime := *c
	withoutTime.EvaluatedAt = metav1.Time{}
	h := fnv.New64a()
	_ = json.NewEncoder(h).Encode(&withoutTime)
	_ = json.NewEncoder(h).Encode(d)
	return h.Sum64()
}

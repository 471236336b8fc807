package cli

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/audicia/audicia/internal/jsonenc"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

// appendReport appends the report exactly as json.Marshal writes it.
// encoding/json walks the types by reflection and, for each of the two times
// of every observed rule, calls a marshaler and checks what it returned; with
// thousands of rules per report that is most of the time spent writing
// JSON. The status is written here directly; the small envelope (metadata,
// spec) and the status fields analyze never sets still go through
// encoding/json. Tests hold the result to json.Marshal's, byte for byte, and
// fail when the API types gain a field this does not write.
func appendReport(b []byte, r *v1alpha1.AudiciaPolicyReport) ([]byte, error) {
	sep := byte('{')
	if r.Kind != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "kind"), r.Kind)
	}
	if r.APIVersion != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "apiVersion"), r.APIVersion)
	}
	var err error
	if b, err = appendMarshal(appendKey(b, &sep, "metadata"), &r.ObjectMeta); err != nil {
		return b, err
	}
	if b, err = appendMarshal(appendKey(b, &sep, "spec"), &r.Spec); err != nil {
		return b, err
	}
	if b, err = appendStatus(appendKey(b, &sep, "status"), &r.Status); err != nil {
		return b, err
	}
	return closeObject(b, sep), nil
}

func appendStatus(b []byte, s *v1alpha1.AudiciaPolicyReportStatus) ([]byte, error) {
	sep := byte('{')
	if len(s.ObservedRules) > 0 {
		b = append(appendKey(b, &sep, "observedRules"), '[')
		for i := range s.ObservedRules {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendObservedRule(b, &s.ObservedRules[i])
		}
		b = append(b, ']')
	}
	if s.RuleCount != 0 {
		b = strconv.AppendInt(appendKey(b, &sep, "ruleCount"), int64(s.RuleCount), 10)
	}
	if s.SuggestedPolicy != nil {
		b = appendSuggestedPolicy(appendKey(b, &sep, "suggestedPolicy"), s.SuggestedPolicy)
	}
	if s.EventsObserved != 0 {
		b = strconv.AppendInt(appendKey(b, &sep, "eventsObserved"), s.EventsObserved, 10)
	}
	if s.DroppedRequests != 0 {
		b = strconv.AppendInt(appendKey(b, &sep, "droppedRequests"), s.DroppedRequests, 10)
	}
	if s.LastEventTime != nil {
		b = appendTime(appendKey(b, &sep, "lastEventTime"), *s.LastEventTime)
	}
	var err error
	if len(s.Groups) > 0 {
		b = appendStrings(appendKey(b, &sep, "groups"), s.Groups)
	}
	// Compliance and drift need a live cluster: the operator writes them,
	// the offline command does not, so they need no fast path.
	if s.Compliance != nil {
		if b, err = appendMarshal(appendKey(b, &sep, "compliance"), s.Compliance); err != nil {
			return b, err
		}
	}
	if s.Drift != nil {
		if b, err = appendMarshal(appendKey(b, &sep, "drift"), s.Drift); err != nil {
			return b, err
		}
	}
	if s.SourcePosition != nil {
		if b, err = appendMarshal(appendKey(b, &sep, "sourcePosition"), s.SourcePosition); err != nil {
			return b, err
		}
	}
	if len(s.Conditions) > 0 {
		if b, err = appendMarshal(appendKey(b, &sep, "conditions"), s.Conditions); err != nil {
			return b, err
		}
	}
	return closeObject(b, sep), nil
}

func appendObservedRule(b []byte, r *v1alpha1.ObservedRule) []byte {
	sep := byte('{')
	if r.APIGroup != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "apiGroup"), r.APIGroup)
	}
	if r.Resource != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "resource"), r.Resource)
	}
	if r.NonResourceURL != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "nonResourceURL"), r.NonResourceURL)
	}
	if r.Namespace != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "namespace"), r.Namespace)
	}
	b = jsonenc.AppendString(appendKey(b, &sep, "verb"), r.Verb)
	if len(r.ResourceNames) > 0 {
		b = appendStrings(appendKey(b, &sep, "resourceNames"), r.ResourceNames)
	}
	b = strconv.AppendInt(appendKey(b, &sep, "count"), r.Count, 10)
	if r.DeniedCount != 0 {
		b = strconv.AppendInt(appendKey(b, &sep, "deniedCount"), r.DeniedCount, 10)
	}
	b = appendTime(appendKey(b, &sep, "firstSeen"), r.FirstSeen)
	b = appendTime(appendKey(b, &sep, "lastSeen"), r.LastSeen)
	return closeObject(b, sep)
}

func appendSuggestedPolicy(b []byte, p *v1alpha1.SuggestedPolicy) []byte {
	sep := byte('{')
	if len(p.ClusterRules) > 0 {
		b = appendPolicyRules(appendKey(b, &sep, "clusterRules"), p.ClusterRules)
	}
	if len(p.NamespaceRules) > 0 {
		b = append(appendKey(b, &sep, "namespaceRules"), '[')
		for i, nr := range p.NamespaceRules {
			if i > 0 {
				b = append(b, ',')
			}
			inner := byte('{')
			b = jsonenc.AppendString(appendKey(b, &inner, "namespace"), nr.Namespace)
			b = appendPolicyRules(appendKey(b, &inner, "rules"), nr.Rules)
			b = closeObject(b, inner)
		}
		b = append(b, ']')
	}
	if p.Manifest != "" {
		b = jsonenc.AppendString(appendKey(b, &sep, "manifest"), p.Manifest)
	}
	return closeObject(b, sep)
}

// appendPolicyRules writes rules as encoding/json does: null for nil.
func appendPolicyRules(b []byte, rules []rbacv1.PolicyRule) []byte {
	if rules == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range rules {
		if i > 0 {
			b = append(b, ',')
		}
		r := &rules[i]
		sep := byte('{')
		b = appendStrings(appendKey(b, &sep, "verbs"), r.Verbs)
		if len(r.APIGroups) > 0 {
			b = appendStrings(appendKey(b, &sep, "apiGroups"), r.APIGroups)
		}
		if len(r.Resources) > 0 {
			b = appendStrings(appendKey(b, &sep, "resources"), r.Resources)
		}
		if len(r.ResourceNames) > 0 {
			b = appendStrings(appendKey(b, &sep, "resourceNames"), r.ResourceNames)
		}
		if len(r.NonResourceURLs) > 0 {
			b = appendStrings(appendKey(b, &sep, "nonResourceURLs"), r.NonResourceURLs)
		}
		b = closeObject(b, sep)
	}
	return append(b, ']')
}

// appendKey starts a member of an object: the opening brace before the first
// member (sep is '{' until then), a comma before the others.
func appendKey(b []byte, sep *byte, name string) []byte {
	b = append(b, *sep, '"')
	b = append(b, name...)
	*sep = ','
	return append(b, '"', ':')
}

// closeObject ends an object whose members were written with appendKey.
func closeObject(b []byte, sep byte) []byte {
	if sep == '{' {
		b = append(b, '{')
	}
	return append(b, '}')
}

// appendStrings writes a string slice as encoding/json does: null for nil.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, s)
	}
	return append(b, ']')
}

// appendTime writes t as metav1.Time's marshaler does.
func appendTime(b []byte, t metav1.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	return append(b, data...), err
}

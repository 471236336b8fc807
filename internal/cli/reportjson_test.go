package cli

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
)

// awkward needs every kind of escape encoding/json writes: quotes, control
// characters, HTML-sensitive characters, line separators, invalid UTF-8.
const awkward = "a\"b\\c\n\t\x01\b\f<d>&e\u2028\u2029é\xff"

func requireSameAsEncodingJSON(t *testing.T, r *v1alpha1.AudiciaPolicyReport) {
	t.Helper()
	want, err := json.Marshal(r)
	require.NoError(t, err)
	got, err := appendReport(nil, r)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestAppendReportMatchesEncodingJSON(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.NewTime(time.Unix(sec, 0)) }
	rules := []v1alpha1.ObservedRule{
		{Resource: "pods", Namespace: "shop", Verb: "get", ResourceNames: []string{"web", awkward}, Count: 3, DeniedCount: 1, FirstSeen: at(1), LastSeen: at(2)},
		{APIGroup: "apps", Resource: "deployments/scale", Namespace: awkward, Verb: "patch", Count: 1, FirstSeen: at(1), LastSeen: at(1)},
		{Resource: "nodes", Verb: "list", Count: 1},
		{NonResourceURL: "/healthz", Verb: "get", Count: 2, DeniedCount: 2, FirstSeen: at(5), LastSeen: at(9)},
		{APIGroup: "example.com", Resource: awkward, Namespace: "a", Verb: awkward, Count: 1, FirstSeen: at(1), LastSeen: at(1)},
	}
	subjects := []v1alpha1.Subject{
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"},
		{Kind: v1alpha1.SubjectKindUser, Name: awkward},
		{Kind: v1alpha1.SubjectKindGroup, Name: "developers"},
	}
	strategies := []v1alpha1.PolicyStrategy{
		{},
		{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed, VerbMerge: v1alpha1.VerbMergeExact, Wildcards: v1alpha1.WildcardsSafe, ResourceNames: v1alpha1.ResourceNamesExplicit},
	}
	for _, subject := range subjects {
		for _, strategy := range strategies {
			for _, rules := range [][]v1alpha1.ObservedRule{rules, rules[3:4], nil} {
				sp := policy.Build(subject, rules, strategy)
				s := &subjectOutput{
					report: pipeline.SubjectReport{Subject: subject, Rules: rules, EventsObserved: 9, DroppedRequests: int64(len(rules)), LastEventTime: time.Unix(9, 0)},
					policy: sp,
					slug:   policy.SubjectSlug(subject),
				}
				requireSameAsEncodingJSON(t, reportObject(s, "audicia-system"))
			}
		}
	}
	requireSameAsEncodingJSON(t, &v1alpha1.AudiciaPolicyReport{})
	requireSameAsEncodingJSON(t, &v1alpha1.AudiciaPolicyReport{Status: v1alpha1.AudiciaPolicyReportStatus{
		SuggestedPolicy: &v1alpha1.SuggestedPolicy{NamespaceRules: []v1alpha1.NamespaceRules{{Namespace: "a"}}},
		LastEventTime:   &metav1.Time{},
	}})
}

// TestAppendReportWritesEveryField sets every field of a report: a field the
// API gains and appendReport does not write fails here. The metadata, which
// goes through encoding/json, only gets a name (its managed fields would need
// valid JSON).
func TestAppendReportWritesEveryField(t *testing.T) {
	r := &v1alpha1.AudiciaPolicyReport{}
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Type != reflect.TypeFor[metav1.ObjectMeta]() {
			fill(t, v.Field(i))
		}
	}
	r.Name, r.Namespace = "n", "ns"
	requireSameAsEncodingJSON(t, r)
}

// fill sets v and everything it holds to values that are not zero.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	if v.Type() == reflect.TypeFor[metav1.Time]() {
		v.Set(reflect.ValueOf(metav1.NewTime(time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(awkward)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("fill: teach me %s", v.Type())
	}
}

func TestAppendReportOnARealLog(t *testing.T) {
	stdout, _, err := analyze(t, "-f", scenarioLog, "-o", "json", "--resource-names", "Explicit")
	require.NoError(t, err)
	var list struct {
		Items []v1alpha1.AudiciaPolicyReport `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	require.NotEmpty(t, list.Items)
	for i := range list.Items {
		requireSameAsEncodingJSON(t, &list.Items[i])
	}
	assert.Contains(t, stdout, `"resourceNames":[`)
}

package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

// Each observed rule goes under the suggested rule that allows it: the Role
// of its namespace before the ClusterRole; what nothing allows is said.
func TestJustify(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC))
	observed := func(group, resource, namespace, verb string, denied int64, names ...string) v1alpha1.ObservedRule {
		return v1alpha1.ObservedRule{APIGroup: group, Resource: resource, Namespace: namespace, Verb: verb,
			ResourceNames: names, Count: 2, DeniedCount: denied, FirstSeen: at, LastSeen: at}
	}
	r := testReport(alice, "s",
		observed("", "pods", "shop", "get", 0),
		observed("", "pods", "shop", "list", 1),
		observed("", "secrets", "shop", "get", 0, "db"),
		observed("", "pods", "billing", "get", 0), // allowed by the ClusterRole's pods rule
		observed("", "nodes", "", "list", 2),
		v1alpha1.ObservedRule{NonResourceURL: "/healthz", Verb: "get", Count: 1, FirstSeen: at, LastSeen: at},
		observed("apps", "deployments", "shop", "delete", 0), // in no suggested rule
	)
	r.Status.SuggestedPolicy = &v1alpha1.SuggestedPolicy{
		ClusterRules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: []string{"get", "list"}},
			{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}},
		},
		NamespaceRules: []v1alpha1.NamespaceRules{{Namespace: "shop", Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, Verbs: []string{"get", "list"}},
		}}},
	}
	name := policy.ObjectName(alice)
	got := justify(&r)
	require.Len(t, got, 4)
	targets := func(j justification) (out []string) {
		for _, o := range j.observed {
			out = append(out, o.Verb+" "+observedTarget(o)+" "+o.Namespace)
		}
		return out
	}
	assert.Equal(t, "ClusterRole "+name, got[0].object)
	assert.Equal(t, []string{"list nodes ", "get pods billing"}, targets(got[0]), "denied first")
	assert.Equal(t, []string{"get /healthz "}, targets(got[1]))
	assert.Equal(t, "Role shop/"+name, got[2].object)
	assert.Equal(t, []string{"list pods shop", "get pods shop", "get secrets shop"}, targets(got[2]))
	assert.Equal(t, "", got[3].object)
	assert.Equal(t, []string{"delete apps/deployments shop"}, targets(got[3]))

	var out bytes.Buffer
	require.NoError(t, writeExplanation(&out, &r))
	assert.Equal(t, `User alice, as AudiciaSource s saw it (report ns/r-s)
13 requests in 7 observed rules, last seen -.
RBAC denied 3 requests in 2 rules: the subject needs these and lacks them; the suggestion grants them, review them first.

ClusterRole `+name+`
  rule: apiGroups: [""] resources: [nodes, pods] verbs: [get, list]
    DENIED   list    nodes             namespace -        names -   2 requests  2 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z
    allowed  get     pods              namespace billing  names -   2 requests  0 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z
  rule: nonResourceURLs: [/healthz] verbs: [get]
    allowed  get     /healthz          namespace -        names -   1 request   0 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z

Role shop/`+name+`
  rule: apiGroups: [""] resources: [pods, secrets] verbs: [get, list]
    DENIED   list    pods              namespace shop     names -   2 requests  1 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z
    allowed  get     pods              namespace shop     names -   2 requests  0 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z
    allowed  get     secrets           namespace shop     names db  2 requests  0 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z

Observed, but no rule of the suggested policy allows these:
    allowed  delete  apps/deployments  namespace shop     names -   2 requests  0 denied  first 2026-11-21T20:00:00Z  last 2026-11-21T20:00:00Z
`, out.String())
}

func TestExplainAllAllowed(t *testing.T) {
	r := testReport(web, "s")
	r.Status.Compliance = &v1alpha1.Compliance{Score: 100, Severity: v1alpha1.SeverityGreen, Granted: 1, Used: 1}
	var out bytes.Buffer
	require.NoError(t, writeExplanation(&out, &r))
	assert.Equal(t, `ServiceAccount shop/web, as AudiciaSource s saw it (report ns/r-s)
0 requests in 0 observed rules, last seen -.
RBAC allowed every request: the suggestion grants only what the subject already has and uses.
Its live RBAC scores 100 (Green): 1 of 1 granted permissions used; 0 rules asked for and not granted.
`, out.String())
}

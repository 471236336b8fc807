package compliance

import (
	"encoding/json"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/rbac"
)

// loadResources reads the resources a kube-apiserver v1.37 serves
// (testdata/gen writes them).
func loadResources(t testing.TB) []APIResource {
	t.Helper()
	data, err := os.ReadFile("testdata/resources.json")
	require.NoError(t, err)
	var out []APIResource
	require.NoError(t, json.Unmarshal(data, &out))
	require.Greater(t, len(out), 100)
	return out
}

func pr(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

func l(s ...string) []string { return s }

var clusterAdminRules = []rbacv1.PolicyRule{
	pr(l("*"), l("*"), l("*")),
	{NonResourceURLs: l("*"), Verbs: l("*")},
}

// crbGrants grants rules through a ClusterRoleBinding.
func crbGrants(name string, rules ...rbacv1.PolicyRule) []rbac.Grant {
	var out []rbac.Grant
	for _, r := range rules {
		out = append(out, rbac.Grant{Rule: r, Binding: rbac.BindingRef{Kind: rbac.KindClusterRoleBinding, Name: name, RoleKind: "ClusterRole", RoleName: name}})
	}
	return out
}

// rbGrants grants rules through a RoleBinding in ns.
func rbGrants(ns, name string, rules ...rbacv1.PolicyRule) []rbac.Grant {
	var out []rbac.Grant
	for _, r := range rules {
		out = append(out, rbac.Grant{Rule: r, Namespace: ns, Binding: rbac.BindingRef{Kind: rbac.KindRoleBinding, Namespace: ns, Name: name, RoleKind: "Role", RoleName: name}})
	}
	return out
}

func baseline(gs []rbac.Grant) []rbac.Grant {
	for i := range gs {
		gs[i].Baseline = true
	}
	return gs
}

func cat(gs ...[]rbac.Grant) []rbac.Grant {
	var out []rbac.Grant
	for _, g := range gs {
		out = append(out, g...)
	}
	return out
}

var t0 = metav1.Unix(1700000000, 0)

// obs is an allowed request; denied(obs(...)) one that was only denied.
func obs(group, resource, ns, verb string, names ...string) v1alpha1.ObservedRule {
	return v1alpha1.ObservedRule{APIGroup: group, Resource: resource, Namespace: ns, Verb: verb, ResourceNames: names, Count: 3, FirstSeen: t0, LastSeen: t0}
}

func url(u, verb string) v1alpha1.ObservedRule {
	return v1alpha1.ObservedRule{NonResourceURL: u, Verb: verb, Count: 1, FirstSeen: t0, LastSeen: t0}
}

func denied(o v1alpha1.ObservedRule) v1alpha1.ObservedRule {
	o.DeniedCount = o.Count
	return o
}

// rules renders scoped rules compactly: "ns:group/resource[names]=verbs".
func rules(rs []ScopedRule) []string {
	var out []string
	for _, r := range rs {
		s := r.Namespace + ":"
		if len(r.NonResourceURLs) > 0 {
			s += r.NonResourceURLs[0]
		} else {
			s += r.APIGroups[0] + "/" + r.Resources[0]
		}
		if len(r.ResourceNames) > 0 {
			s += "[" + strings.Join(r.ResourceNames, ",") + "]"
		}
		out = append(out, s+"="+strings.Join(r.Verbs, ","))
	}
	return out
}

func TestEvaluate(t *testing.T) {
	resources := loadResources(t)
	type want struct {
		score                    int
		severity                 Severity
		granted, used, uncovered int
		excess, uncoveredRules   []string // compared when not nil
		driftExcess              []string // compared when not nil
		sensitive                []string // each must be present
		noSensitive              bool
	}
	tests := map[string]struct {
		grants   []rbac.Grant
		observed []v1alpha1.ObservedRule
		t        Thresholds
		want     want
	}{
		"exact role, exactly used: 100 Green": {
			grants:   rbGrants("shop", "web", pr(l(""), l("pods"), l("get", "list")), pr(l("apps"), l("deployments"), l("get"))),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("apps", "deployments", "shop", "get")},
			want:     want{score: 100, severity: SeverityGreen, granted: 3, used: 3, excess: []string{}, noSensitive: true},
		},
		"cluster-admin used for one get pods: near 0, Red, secrets sensitive": {
			grants:   crbGrants("cluster-admin", clusterAdminRules...),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "shop", "get")},
			want: want{score: 0, severity: SeverityRed, used: 1, granted: -1, sensitive: []string{
				"secrets create,delete,deletecollection,get,list,patch,update,watch in all namespaces",
				"clusterroles.rbac.authorization.k8s.io bind,create,delete,deletecollection,escalate,get,list,patch,update,watch cluster-wide",
				"users impersonate cluster-wide",
				"pods/exec create,get in all namespaces",
				"serviceaccounts/token create in all namespaces",
				"nodes/proxy create,delete,get,patch,update cluster-wide",
				"serviceaccounts impersonate in all namespaces",
			}},
		},
		"dormant: grants, no traffic: every atom excess, 0, Red": {
			grants: rbGrants("shop", "batch", pr(l(""), l("secrets"), l("get"))),
			want: want{score: 0, severity: SeverityRed, granted: 1, used: 0,
				excess: []string{"shop:/secrets=get"}, driftExcess: []string{"shop:/secrets=get"},
				sensitive: []string{"secrets get in namespace shop"}},
		},
		"wildcards on group, resource and verb within one group": {
			grants:   crbGrants("apps-all", pr(l("apps"), l("*"), l("get"))),
			observed: []v1alpha1.ObservedRule{obs("apps", "deployments", "shop", "get"), obs("apps", "deployments/scale", "", "get")},
			// apps serves controllerrevisions, daemonsets(+status), deployments(+scale,status), replicasets(+scale,status), statefulsets(+scale,status): 12 gets.
			want: want{score: 16, severity: SeverityRed, granted: 12, used: 2},
		},
		"*/scale over every group": {
			grants:   crbGrants("scaler", pr(l("*"), l("*/scale"), l("get", "update"))),
			observed: []v1alpha1.ObservedRule{obs("apps", "deployments/scale", "shop", "update")},
			want: want{score: 12, severity: SeverityRed, granted: 8, used: 1, excess: []string{
				":/replicationcontrollers/scale=get,update", ":apps/deployments/scale=get",
				":apps/replicasets/scale=get,update", ":apps/statefulsets/scale=get,update"}},
		},
		"resourceNames: used name, denied other name uncovered": {
			grants: rbGrants("shop", "cfg", pr(l(""), l("configmaps"), l("get", "update", "create"), "app-config")),
			observed: []v1alpha1.ObservedRule{obs("", "configmaps", "shop", "get", "app-config"),
				denied(obs("", "configmaps", "shop", "get", "other"))},
			// create cannot be restricted by name: it grants nothing.
			want: want{score: 50, severity: SeverityYellow, granted: 2, used: 1, uncovered: 1,
				excess: []string{"shop:/configmaps[app-config]=update"}, uncoveredRules: []string{"shop:/configmaps[other]=get"}},
		},
		"resourceNames: create on a subresource names its object": {
			grants:   rbGrants("shop", "tok", pr(l(""), l("serviceaccounts/token", "serviceaccounts"), l("create"), "builder")),
			observed: []v1alpha1.ObservedRule{obs("", "serviceaccounts/token", "shop", "create", "builder")},
			want:     want{score: 100, severity: SeverityGreen, granted: 1, used: 1, excess: []string{}},
		},
		"nonResourceURL patterns covered by a wider one count once": {
			grants: crbGrants("urls", rbacv1.PolicyRule{NonResourceURLs: l("/a*", "/a**", "/a/b", "/ab*", "/b"), Verbs: l("get")},
				rbacv1.PolicyRule{NonResourceURLs: l("/a/b"), Verbs: l("post")}),
			observed: []v1alpha1.ObservedRule{url("/a/c", "get")},
			want:     want{score: 33, severity: SeverityRed, granted: 3, used: 1, excess: []string{":/a/b=post", ":/b=get"}},
		},
		"nonResourceURL prefix*": {
			grants:   crbGrants("health", rbacv1.PolicyRule{NonResourceURLs: l("/healthz*", "/livez"), Verbs: l("get")}),
			observed: []v1alpha1.ObservedRule{url("/healthz/ready", "get"), denied(url("/metrics", "get")), url("/healthz", "post")},
			want: want{score: 50, severity: SeverityYellow, granted: 2, used: 1, uncovered: 2,
				excess: []string{":/livez=get"}, uncoveredRules: []string{":/healthz=post", ":/metrics=get"}},
		},
		"RoleBinding of a ClusterRole: namespace scope, cluster-scoped resources and URLs ignored": {
			grants: rbGrants("shop", "mixed", pr(l(""), l("pods", "nodes", "persistentvolumes"), l("get")),
				rbacv1.PolicyRule{NonResourceURLs: l("/healthz"), Verbs: l("get")}),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), denied(obs("", "pods", "other", "get")),
				denied(obs("", "nodes", "", "get")), denied(url("/healthz", "get"))},
			want: want{score: 100, severity: SeverityGreen, granted: 1, used: 1, uncovered: 3,
				uncoveredRules: []string{":/nodes=get", ":/healthz=get", "other:/pods=get"}},
		},
		"ClusterRoleBinding on a namespaced resource: one atom for all namespaces": {
			grants:   crbGrants("reader", pr(l(""), l("pods"), l("get", "list"))),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "a", "get"), obs("", "pods", "b", "get"), obs("", "pods", "", "list")},
			want:     want{score: 100, severity: SeverityGreen, granted: 2, used: 2},
		},
		"namespace-wide atom subsumed by the all-namespaces atom": {
			grants:   cat(crbGrants("reader", pr(l(""), l("pods"), l("get"))), rbGrants("shop", "r", pr(l(""), l("pods"), l("get", "list")))),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "shop", "get")},
			want:     want{score: 50, severity: SeverityYellow, granted: 2, used: 1, excess: []string{"shop:/pods=list"}},
		},
		"RoleBinding may grant its own namespace object": {
			// Reports keep namespace objects cluster-wide, with their names.
			grants:   rbGrants("shop", "ns", pr(l(""), l("namespaces"), l("get"))),
			observed: []v1alpha1.ObservedRule{obs("", "namespaces", "", "get", "shop")},
			want:     want{score: 100, severity: SeverityGreen, granted: 1, used: 1},
		},
		"RoleBinding grants no other namespace object": {
			grants: cat(rbGrants("shop", "ns", pr(l(""), l("namespaces"), l("get"))),
				rbGrants("dev", "ns", pr(l(""), l("namespaces"), l("get"), "dev"))),
			observed: []v1alpha1.ObservedRule{obs("", "namespaces", "", "get", "dev", "prod", "shop"), denied(obs("", "namespaces", "", "list"))},
			want: want{score: 100, severity: SeverityGreen, granted: 2, used: 2, uncovered: 2,
				uncoveredRules: []string{":/namespaces=list", ":/namespaces[prod]=get"}},
		},
		"baseline grants listed, not scored; they cover requests": {
			grants: cat(baseline(crbGrants("system:basic-user", pr(l("authorization.k8s.io"), l("selfsubjectaccessreviews", "selfsubjectrulesreviews"), l("create")))),
				rbGrants("shop", "web", pr(l(""), l("pods"), l("get")))),
			observed: []v1alpha1.ObservedRule{obs("authorization.k8s.io", "selfsubjectaccessreviews", "", "create"), obs("", "pods", "shop", "get")},
			want:     want{score: 100, severity: SeverityGreen, granted: 1, used: 1, excess: []string{}, noSensitive: true},
		},
		"only baseline, nothing uncovered: 100 Green": {
			grants:   baseline(crbGrants("system:discovery", rbacv1.PolicyRule{NonResourceURLs: l("/api", "/api/*"), Verbs: l("get")})),
			observed: []v1alpha1.ObservedRule{url("/api/v1", "get")},
			want:     want{score: 100, severity: SeverityGreen, granted: 0, used: 0},
		},
		"no grants, only 403s: nothing held in excess, 100; uncovered and missing show the need": {
			observed: []v1alpha1.ObservedRule{denied(obs("", "secrets", "shop", "list"))},
			want:     want{score: 100, severity: SeverityGreen, uncovered: 1, uncoveredRules: []string{"shop:/secrets=list"}},
		},
		"denied request now granted: covered, unused, but not drift excess": {
			grants:   rbGrants("shop", "fix", pr(l(""), l("secrets"), l("list", "get"))),
			observed: []v1alpha1.ObservedRule{denied(obs("", "secrets", "shop", "list"))},
			want: want{score: 0, severity: SeverityRed, granted: 2, used: 0, uncovered: 0,
				excess: []string{"shop:/secrets=get,list"}, driftExcess: []string{"shop:/secrets=get"}},
		},
		"allowed, names not kept: name-restricted grant counts": {
			grants:   rbGrants("shop", "cfg", pr(l(""), l("configmaps"), l("get"), "a", "b")),
			observed: []v1alpha1.ObservedRule{obs("", "configmaps", "shop", "get")},
			want:     want{score: 100, severity: SeverityGreen, granted: 1, used: 1},
		},
		"escalate, bind and impersonate are sensitive anywhere": {
			grants: crbGrants("power", pr(l("rbac.authorization.k8s.io"), l("clusterroles"), l("bind", "escalate")),
				pr(l(""), l("users", "groups"), l("impersonate"))),
			want: want{score: 0, severity: SeverityRed, granted: 4, sensitive: []string{
				"clusterroles.rbac.authorization.k8s.io bind,escalate cluster-wide", "users impersonate cluster-wide", "groups impersonate cluster-wide"}},
		},
		"custom thresholds": {
			grants:   rbGrants("shop", "r", pr(l(""), l("pods"), l("get", "list", "watch", "update"))),
			observed: []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("", "pods", "shop", "watch")},
			t:        Thresholds{Green: 90, Yellow: 70},
			want:     want{score: 75, severity: SeverityYellow, granted: 4, used: 3},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := Evaluate(tc.grants, tc.observed, resources, tc.t)
			w := tc.want
			assert.Equal(t, w.score, res.Score, "score")
			assert.Equal(t, w.severity, res.Severity, "severity")
			if w.granted >= 0 {
				assert.Equal(t, w.granted, res.Granted, "granted")
			}
			assert.Equal(t, w.used, res.Used, "used")
			assert.Equal(t, res.Granted-res.Used, res.Excess, "excess")
			assert.Equal(t, w.uncovered, res.Uncovered, "uncovered")
			if w.excess != nil {
				assert.Equal(t, w.excess, append([]string{}, rules(res.ExcessRules)...), "excess rules")
			}
			if w.uncoveredRules != nil {
				assert.Equal(t, w.uncoveredRules, rules(res.UncoveredRules), "uncovered rules")
				assert.Equal(t, res.UncoveredRules, res.Drift.Missing, "drift missing")
			}
			if w.driftExcess != nil {
				assert.Equal(t, w.driftExcess, rules(res.Drift.Excess), "drift excess")
			}
			for _, s := range w.sensitive {
				assert.Contains(t, res.SensitiveExcess, s)
			}
			if w.noSensitive {
				assert.Empty(t, res.SensitiveExcess)
			}
		})
	}
}

func TestClusterAdminBreadth(t *testing.T) {
	res := Evaluate(crbGrants("cluster-admin", clusterAdminRules...), []v1alpha1.ObservedRule{obs("", "pods", "shop", "get")}, loadResources(t), Thresholds{})
	assert.Less(t, res.Score, 5)
	assert.Equal(t, SeverityRed, res.Severity)
	assert.Greater(t, res.Granted, 600, "every verb of every discovered resource, plus URL verbs")
	assert.Len(t, res.ExcessRules, MaxEntries)
	assert.Greater(t, res.ExcessRulesTotal, MaxEntries)
	assert.Len(t, res.SensitiveExcess, res.SensitiveExcessTotal)
	assert.True(t, sort.SliceIsSorted(res.ExcessRules, func(i, j int) bool { return ruleLess(&res.ExcessRules[i], &res.ExcessRules[j]) }))
	assert.Equal(t, res.ExcessRules, res.Drift.Excess, "nothing was requested but get pods, which was allowed")
	assert.Equal(t, []rbac.BindingRef{{Kind: rbac.KindClusterRoleBinding, Name: "cluster-admin", RoleKind: "ClusterRole", RoleName: "cluster-admin"}}, res.Bindings)
	assert.Equal(t, 1, res.BindingsTotal)
}

// TestEvaluateThroughIndex runs the live-RBAC path end to end: a group
// binding to an aggregated ClusterRole nobody filled, and a ServiceAccount's
// implicit group.
func TestEvaluateThroughIndex(t *testing.T) {
	sel := func(k string) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{k: "true"}}}}
	}
	snap := rbac.Snapshot{
		ClusterRoles: []rbacv1.ClusterRole{
			{ObjectMeta: metav1.ObjectMeta{Name: "view"}, AggregationRule: sel("agg-view")},
			{ObjectMeta: metav1.ObjectMeta{Name: "pods-view", Labels: map[string]string{"agg-view": "true"}}, Rules: []rbacv1.PolicyRule{pr(l(""), l("pods"), l("get", "list"))}},
			{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, Rules: []rbacv1.PolicyRule{pr(l("authorization.k8s.io"), l("selfsubjectaccessreviews"), l("create"))}},
			{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Rules: []rbacv1.PolicyRule{pr(l(""), l("configmaps"), l("get"))}},
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "devs-view"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "basic"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "basic"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:authenticated"}}},
		},
		RoleBindings: []rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "all-sa-cm"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cm"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:serviceaccounts:shop"}}},
		},
	}
	ix := rbac.NewIndex(snap)
	c := NewCatalog(loadResources(t))

	alice := v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice"}
	res := c.Evaluate(ix.Grants(alice, []string{"devs", "system:authenticated"}),
		[]v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("authorization.k8s.io", "selfsubjectaccessreviews", "", "create")}, Thresholds{})
	assert.Equal(t, 2, res.Granted)
	assert.Equal(t, 100, res.Score)
	assert.Equal(t, 0, res.Uncovered)
	assert.Equal(t, "ClusterRoleBinding devs-view -> ClusterRole view", res.Bindings[0].String())
	assert.Equal(t, 1, res.BaselineRules)

	web := v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}
	res = c.Evaluate(ix.Grants(web, nil), []v1alpha1.ObservedRule{obs("", "configmaps", "shop", "get"), denied(obs("", "pods", "shop", "get"))}, Thresholds{})
	assert.Equal(t, 1, res.Granted)
	assert.Equal(t, 100, res.Score)
	assert.Equal(t, []string{"shop:/pods=get"}, rules(res.Drift.Missing))

	// A dormant ServiceAccount: named by a binding, never seen. It is among
	// the index's subjects, and everything it holds is excess.
	batch := v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "batch"}
	snap.RoleBindings = append(snap.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "batch-view"},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "batch"}}})
	ix = rbac.NewIndex(snap)
	assert.Contains(t, ix.Subjects(), batch)
	res = c.Evaluate(ix.Grants(batch, nil), nil, Thresholds{})
	assert.Equal(t, 3, res.Granted, "pods get, list and configmaps get in shop")
	assert.Equal(t, 0, res.Score)
	assert.Equal(t, SeverityRed, res.Severity)
	assert.Equal(t, []string{"shop:/configmaps=get", "shop:/pods=get,list"}, rules(res.ExcessRules))
}

func TestEvaluateDeterministic(t *testing.T) {
	resources := loadResources(t)
	grants := cat(crbGrants("a", pr(l("apps"), l("*"), l("*"))), rbGrants("shop", "b", pr(l(""), l("secrets", "pods"), l("get", "list"), "x", "y")),
		rbGrants("dev", "c", pr(l(""), l("*"), l("*"))), crbGrants("d", rbacv1.PolicyRule{NonResourceURLs: l("/a*", "/b", "/a/b"), Verbs: l("get", "post")}))
	observed := []v1alpha1.ObservedRule{obs("apps", "deployments", "shop", "get"), denied(obs("", "secrets", "shop", "get", "z")),
		obs("", "pods", "dev", "list"), url("/a/c", "get"), denied(obs("batch", "jobs", "", "list")), denied(obs("batch", "jobs", "", "watch"))}
	want := Evaluate(grants, observed, resources, Thresholds{})
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		r.Shuffle(len(grants), func(i, j int) { grants[i], grants[j] = grants[j], grants[i] })
		r.Shuffle(len(observed), func(i, j int) { observed[i], observed[j] = observed[j], observed[i] })
		r.Shuffle(len(resources), func(i, j int) { resources[i], resources[j] = resources[j], resources[i] })
		require.Equal(t, want, Evaluate(grants, observed, resources, Thresholds{}))
	}
	assert.Equal(t, []string{":batch/jobs=list,watch", "shop:/secrets[z]=get"}, rules(want.UncoveredRules))
}

func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		t     Thresholds
		score int
		want  Severity
	}{
		{Thresholds{}, 100, SeverityGreen}, {Thresholds{}, 80, SeverityGreen}, {Thresholds{}, 79, SeverityYellow},
		{Thresholds{}, 50, SeverityYellow}, {Thresholds{}, 49, SeverityRed}, {Thresholds{}, 0, SeverityRed},
		{Thresholds{Green: 95, Yellow: 10}, 94, SeverityYellow}, {Thresholds{Green: 95, Yellow: 10}, 9, SeverityRed},
	} {
		assert.Equal(t, tc.want, tc.t.Severity(tc.score), "%+v %d", tc.t, tc.score)
	}
}

func BenchmarkEvaluateClusterAdmin(b *testing.B) {
	c := NewCatalog(loadResources(b))
	grants := crbGrants("cluster-admin", clusterAdminRules...)
	observed := []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("apps", "deployments", "shop", "get"), url("/healthz", "get")}
	b.ReportAllocs()
	for b.Loop() {
		c.Evaluate(grants, observed, Thresholds{})
	}
}

func BenchmarkEvaluateNarrow(b *testing.B) {
	c := NewCatalog(loadResources(b))
	grants := rbGrants("shop", "web", pr(l(""), l("pods"), l("get", "list")), pr(l("apps"), l("deployments"), l("get")))
	observed := []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("apps", "deployments", "shop", "get")}
	b.ReportAllocs()
	for b.Loop() {
		c.Evaluate(grants, observed, Thresholds{})
	}
}

func BenchmarkNewCatalog(b *testing.B) {
	resources := loadResources(b)
	b.ReportAllocs()
	for b.Loop() {
		NewCatalog(resources)
	}
}

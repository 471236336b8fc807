package policy_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

// obs is an observed resource request.
func obs(group, resource, namespace, verb string, names ...string) v1alpha1.ObservedRule {
	return v1alpha1.ObservedRule{APIGroup: group, Resource: resource, Namespace: namespace, Verb: verb, ResourceNames: names, Count: 1}
}

// url is an observed non-resource request.
func url(path, verb string) v1alpha1.ObservedRule {
	return v1alpha1.ObservedRule{NonResourceURL: path, Verb: verb, Count: 1}
}

// rule builds a resource rule; names are given separately with named.
func rule(group string, resources []string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs}
}

func named(r rbacv1.PolicyRule, names ...string) rbacv1.PolicyRule {
	r.ResourceNames = names
	return r
}

func urlRule(urls []string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{NonResourceURLs: urls, Verbs: verbs}
}

func res(r ...string) []string { return r }

func ns(name string, rules ...rbacv1.PolicyRule) v1alpha1.NamespaceRules {
	return v1alpha1.NamespaceRules{Namespace: name, Rules: rules}
}

var all8 = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// every observes each verb on the resource.
func every(group, resource, namespace string, verbs []string) []v1alpha1.ObservedRule {
	var out []v1alpha1.ObservedRule
	for _, v := range verbs {
		out = append(out, obs(group, resource, namespace, v))
	}
	return out
}

func concat(parts ...[]v1alpha1.ObservedRule) []v1alpha1.ObservedRule { return slices.Concat(parts...) }

type suggestCase struct {
	name     string
	strategy v1alpha1.PolicyStrategy
	observed []v1alpha1.ObservedRule
	cluster  []rbacv1.PolicyRule
	spaces   []v1alpha1.NamespaceRules
}

func runSuggest(t *testing.T, tests []suggestCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := policy.Suggest(tt.observed, tt.strategy)
			assert.Equal(t, tt.cluster, got.ClusterRules, "cluster rules")
			assert.Equal(t, tt.spaces, got.NamespaceRules, "namespace rules")
			assert.Empty(t, got.Manifest)

			reversed := slices.Clone(tt.observed)
			slices.Reverse(reversed)
			assert.Equal(t, got, policy.Suggest(reversed, tt.strategy), "order of observed rules must not matter")
		})
	}
}

var (
	strict      = v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeNamespaceStrict}
	clusterWide = v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed}
	exact       = v1alpha1.PolicyStrategy{VerbMerge: v1alpha1.VerbMergeExact}
	safe        = v1alpha1.PolicyStrategy{Wildcards: v1alpha1.WildcardsSafe}
	forbidden   = v1alpha1.PolicyStrategy{Wildcards: v1alpha1.WildcardsForbidden}
	explicit    = v1alpha1.PolicyStrategy{ResourceNames: v1alpha1.ResourceNamesExplicit}
	omit        = v1alpha1.PolicyStrategy{ResourceNames: v1alpha1.ResourceNamesOmit}
)

func TestSuggestScopeMode(t *testing.T) {
	runSuggest(t, []suggestCase{{
		name:     "strict splits namespaced from cluster scope",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{
			obs("", "pods", "a", "get"), obs("", "pods", "b", "delete"), obs("", "services", "", "list"),
			obs("", "nodes", "", "get"), url("/healthz", "get"),
		},
		cluster: []rbacv1.PolicyRule{urlRule(res("/healthz"), "get"), rule("", res("nodes"), "get"), rule("", res("services"), "list")},
		spaces:  []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "get")), ns("b", rule("", res("pods"), "delete"))},
	}, {
		name:     "strict keeps cluster-scoped resources and URLs out of Roles whatever the namespace says",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{
			obs("", "namespaces", "a", "get"), obs("storage.k8s.io", "storageclasses", "a", "list"),
			{NonResourceURL: "/metrics", Namespace: "a", Verb: "get"},
		},
		cluster: []rbacv1.PolicyRule{
			urlRule(res("/metrics"), "get"), rule("", res("namespaces"), "get"), rule("storage.k8s.io", res("storageclasses"), "list"),
		},
	}, {
		name:     "strict drops what the ClusterRole already grants everywhere",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{obs("", "pods", "a", "list"), obs("", "pods", "", "list"), obs("", "pods", "a", "get")},
		cluster:  []rbacv1.PolicyRule{rule("", res("pods"), "list")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "get"))},
	}, {
		name:     "cluster scope puts every rule into the ClusterRole",
		strategy: clusterWide,
		observed: []v1alpha1.ObservedRule{
			obs("", "pods", "a", "get"), obs("", "pods", "b", "get"), obs("", "pods", "b", "list"),
			obs("", "nodes", "", "get"), url("/healthz", "get"),
		},
		cluster: []rbacv1.PolicyRule{urlRule(res("/healthz"), "get"), rule("", res("nodes"), "get"), rule("", res("pods"), "get", "list")},
	}, {
		name:     "nothing observed gives nothing",
		strategy: strict,
	}, {
		name:     "malformed rules are skipped",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{{Resource: "pods", Namespace: "a"}, {Verb: "get", Namespace: "a"}, obs("", "pods", "a", "get")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "get"))},
	}})
}

func TestSuggestVerbMerge(t *testing.T) {
	observed := []v1alpha1.ObservedRule{
		obs("", "pods", "a", "get"), obs("", "pods", "a", "list"), obs("", "pods", "a", "watch"),
		obs("", "configmaps", "a", "watch"), obs("", "configmaps", "a", "get"), obs("", "configmaps", "a", "list"),
		obs("", "secrets", "a", "get"),
		obs("apps", "deployments", "a", "get"), obs("apps", "deployments", "a", "list"), obs("apps", "deployments", "a", "watch"),
		url("/healthz", "get"), url("/livez", "get"), url("/metrics", "get"), url("/metrics", "post"),
	}
	runSuggest(t, []suggestCase{{
		name:     "smart merges verbs, then resources with equal verbs, within one group",
		strategy: v1alpha1.PolicyStrategy{VerbMerge: v1alpha1.VerbMergeSmart},
		observed: observed,
		cluster:  []rbacv1.PolicyRule{urlRule(res("/healthz", "/livez"), "get"), urlRule(res("/metrics"), "get", "post")},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			rule("", res("configmaps", "pods"), "get", "list", "watch"),
			rule("", res("secrets"), "get"),
			rule("apps", res("deployments"), "get", "list", "watch"),
		)},
	}, {
		name:     "exact keeps one rule per resource and verb",
		strategy: exact,
		observed: observed,
		cluster: []rbacv1.PolicyRule{
			urlRule(res("/healthz"), "get"), urlRule(res("/livez"), "get"), urlRule(res("/metrics"), "get"), urlRule(res("/metrics"), "post"),
		},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			rule("", res("configmaps"), "get"), rule("", res("configmaps"), "list"), rule("", res("configmaps"), "watch"),
			rule("", res("pods"), "get"), rule("", res("pods"), "list"), rule("", res("pods"), "watch"),
			rule("", res("secrets"), "get"),
			rule("apps", res("deployments"), "get"), rule("apps", res("deployments"), "list"), rule("apps", res("deployments"), "watch"),
		)},
	}, {
		name:     "smart never adds a verb to merge resources",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{obs("", "pods", "a", "get"), obs("", "pods", "a", "list"), obs("", "configmaps", "a", "get")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("configmaps"), "get"), rule("", res("pods"), "get", "list"))},
	}, {
		// Suggest is public: a verb holding a comma, which no API server
		// serves, must not pass for two verbs and merge with them.
		name:     "smart keeps a verb with a comma apart from the verbs it names",
		strategy: strict,
		observed: []v1alpha1.ObservedRule{obs("", "pods", "a", "list"), obs("", "pods", "a", "watch"), obs("", "configmaps", "a", "list,watch")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("configmaps"), "list,watch"), rule("", res("pods"), "list", "watch"))},
	}})
}

func TestSuggestWildcards(t *testing.T) {
	runSuggest(t, []suggestCase{{
		name:     "safe abbreviates only complete, harmless verb sets",
		strategy: safe,
		observed: concat(
			every("", "pods", "a", all8),
			every("apps", "deployments", "a", all8),
			every("", "configmaps", "a", all8[:7]),
			every("rbac.authorization.k8s.io", "roles", "a", all8),
			every("example.com", "widgets", "a", all8),
			every("", "pods/status", "a", []string{"get", "update", "patch"}),
			[]v1alpha1.ObservedRule{obs("", "pods/log", "a", "get")},
		),
		spaces: []v1alpha1.NamespaceRules{ns("a",
			rule("", res("configmaps"), "create", "delete", "get", "list", "patch", "update", "watch"),
			rule("", res("pods", "pods/status"), "*"),
			rule("", res("pods/log"), "get"),
			rule("apps", res("deployments"), "*"),
			rule("example.com", res("widgets"), "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
			rule("rbac.authorization.k8s.io", res("roles"), "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
		)},
	}, {
		name:     "safe merges resources that are all abbreviated",
		strategy: safe,
		observed: concat(every("", "pods", "a", all8), every("", "secrets", "a", all8)),
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("pods", "secrets"), "*"))},
	}, {
		name:     "safe with exact writes one rule for a complete set",
		strategy: v1alpha1.PolicyStrategy{Wildcards: v1alpha1.WildcardsSafe, VerbMerge: v1alpha1.VerbMergeExact},
		observed: concat(every("", "pods", "a", all8), []v1alpha1.ObservedRule{obs("", "secrets", "a", "get")}),
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "*"), rule("", res("secrets"), "get"))},
	}, {
		name:     "safe never abbreviates non-resource URLs",
		strategy: safe,
		observed: []v1alpha1.ObservedRule{
			url("/x", "get"), url("/x", "post"), url("/x", "put"), url("/x", "patch"), url("/x", "delete"), url("/x", "head"), url("/x", "options"),
		},
		cluster: []rbacv1.PolicyRule{urlRule(res("/x"), "delete", "get", "head", "options", "patch", "post", "put")},
	}, {
		name:     "forbidden spells every verb out",
		strategy: forbidden,
		observed: every("", "pods", "a", all8),
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"))},
	}, {
		name:     "safe needs the complete set within one scope",
		strategy: safe,
		observed: concat(every("", "pods", "a", all8[:4]), every("", "pods", "b", all8[4:])),
		spaces: []v1alpha1.NamespaceRules{
			ns("a", rule("", res("pods"), "create", "get", "list", "watch")),
			ns("b", rule("", res("pods"), "delete", "deletecollection", "patch", "update")),
		},
	}})
}

func TestSuggestResourceNames(t *testing.T) {
	runSuggest(t, []suggestCase{{
		name:     "explicit keeps sorted unique names where RBAC can check them",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{
			obs("", "secrets", "a", "get", "b", "a"), obs("", "secrets", "a", "get", "a"),
			obs("", "secrets", "a", "list", "a"), obs("", "secrets", "a", "watch", "a"),
			obs("", "secrets", "a", "deletecollection", "a"), obs("", "configmaps", "a", "create", "cm"),
			obs("", "pods/exec", "a", "create", "web-0"),
		},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			rule("", res("configmaps"), "create"),
			named(rule("", res("pods/exec"), "create"), "web-0"),
			rule("", res("secrets"), "deletecollection", "list", "watch"),
			named(rule("", res("secrets"), "get"), "a", "b"),
		)},
	}, {
		name:     "a request without a name widens to any name",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x"), obs("", "secrets", "a", "get")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("secrets"), "get"))},
	}, {
		name:     "verbs with different names stay apart",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{
			obs("", "secrets", "a", "get", "x"), obs("", "secrets", "a", "update", "y"), obs("", "secrets", "a", "delete"),
		},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			rule("", res("secrets"), "delete"),
			named(rule("", res("secrets"), "get"), "x"),
			named(rule("", res("secrets"), "update"), "y"),
		)},
	}, {
		name:     "verbs with the same names merge",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x", "y"), obs("", "secrets", "a", "update", "y", "x")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", named(rule("", res("secrets"), "get", "update"), "x", "y"))},
	}, {
		name:     "resources merge only with the same names",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{
			obs("", "secrets", "a", "get", "x"), obs("", "configmaps", "a", "get", "x"),
			obs("", "services", "a", "get", "z"), obs("", "endpoints", "a", "get"),
		},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			named(rule("", res("configmaps", "secrets"), "get"), "x"),
			rule("", res("endpoints"), "get"),
			named(rule("", res("services"), "get"), "z"),
		)},
	}, {
		name:     "exact keeps names per verb",
		strategy: v1alpha1.PolicyStrategy{ResourceNames: v1alpha1.ResourceNamesExplicit, VerbMerge: v1alpha1.VerbMergeExact},
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x"), obs("", "secrets", "a", "update", "x")},
		spaces: []v1alpha1.NamespaceRules{ns("a",
			named(rule("", res("secrets"), "get"), "x"),
			named(rule("", res("secrets"), "update"), "x"),
		)},
	}, {
		name:     "omit drops names",
		strategy: omit,
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x"), obs("", "secrets", "a", "update", "y")},
		spaces:   []v1alpha1.NamespaceRules{ns("a", rule("", res("secrets"), "get", "update"))},
	}, {
		name:     "non-resource URLs never carry names",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{{NonResourceURL: "/healthz", Verb: "get", ResourceNames: []string{"x"}}},
		cluster:  []rbacv1.PolicyRule{urlRule(res("/healthz"), "get")},
	}, {
		name:     "cluster scope unions names across namespaces",
		strategy: v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed, ResourceNames: v1alpha1.ResourceNamesExplicit},
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x"), obs("", "secrets", "b", "get", "y"), obs("", "secrets", "b", "get", "x")},
		cluster:  []rbacv1.PolicyRule{named(rule("", res("secrets"), "get"), "x", "y")},
	}, {
		name:     "cluster scope widens to any name when one namespace had none",
		strategy: v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed, ResourceNames: v1alpha1.ResourceNamesExplicit},
		observed: []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "x"), obs("", "secrets", "b", "get")},
		cluster:  []rbacv1.PolicyRule{rule("", res("secrets"), "get")},
	}, {
		name:     "strict keeps a named Role rule the ClusterRole does not cover",
		strategy: explicit,
		observed: []v1alpha1.ObservedRule{
			obs("", "namespaces", "", "get", "a"), obs("", "secrets", "", "get", "x"),
			obs("", "secrets", "a", "get", "y"), obs("", "secrets", "b", "get", "x"),
		},
		cluster: []rbacv1.PolicyRule{named(rule("", res("namespaces"), "get"), "a"), named(rule("", res("secrets"), "get"), "x")},
		spaces:  []v1alpha1.NamespaceRules{ns("a", named(rule("", res("secrets"), "get"), "y"))},
	}})
}

func TestWithDefaults(t *testing.T) {
	got := policy.WithDefaults(v1alpha1.PolicyStrategy{})
	assert.Equal(t, v1alpha1.ScopeModeNamespaceStrict, got.ScopeMode)
	assert.Equal(t, v1alpha1.VerbMergeSmart, got.VerbMerge)
	assert.Equal(t, v1alpha1.WildcardsForbidden, got.Wildcards)
	assert.Equal(t, v1alpha1.ResourceNamesOmit, got.ResourceNames)
	if assert.NotNil(t, got.MigrateDeprecatedGroups) {
		assert.True(t, *got.MigrateDeprecatedGroups)
	}

	off := false
	set := v1alpha1.PolicyStrategy{
		ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed, VerbMerge: v1alpha1.VerbMergeExact,
		Wildcards: v1alpha1.WildcardsSafe, ResourceNames: v1alpha1.ResourceNamesExplicit, MigrateDeprecatedGroups: &off,
	}
	assert.Equal(t, set, policy.WithDefaults(set), "set knobs are kept")
	assert.False(t, off)
}

func TestSuggestDoesNotAliasInput(t *testing.T) {
	observed := []v1alpha1.ObservedRule{obs("", "secrets", "a", "get", "y", "x")}
	sp := policy.Suggest(observed, explicit)
	sp.NamespaceRules[0].Rules[0].ResourceNames[0] = "changed"
	assert.Equal(t, []string{"y", "x"}, observed[0].ResourceNames)
}

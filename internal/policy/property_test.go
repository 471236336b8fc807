package policy_test

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
	"github.com/audicia/audicia/internal/policy/policytest"
)

var (
	propResources = [][2]string{
		{"", "pods"}, {"", "pods/log"}, {"", "pods/exec"}, {"", "pods/status"}, {"", "configmaps"}, {"", "secrets"},
		{"", "serviceaccounts/token"}, {"", "nodes"}, {"", "namespaces"}, {"apps", "deployments"}, {"apps", "deployments/scale"},
		{"rbac.authorization.k8s.io", "roles"}, {"rbac.authorization.k8s.io", "clusterroles"},
		{"storage.k8s.io", "storageclasses"}, {"example.com", "widgets"}, {"example.com", "widgets/status"},
	}
	propURLs       = []string{"/healthz", "/livez", "/metrics", "/api", "/version"}
	propNamespaces = []string{"", "a", "b", "c"}
	propNames      = []string{"n1", "n2", "n3"}
	nonResource    = []string{"get", "post", "put", "patch", "delete", "head", "options"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.Intn(len(xs))] }

// randomRule draws an observed rule that respects the pipeline's guarantees;
// verbs favour each resource's own set so that complete sets (and `*`) occur.
func randomRule(rng *rand.Rand) v1alpha1.ObservedRule {
	if rng.Intn(6) == 0 {
		return url(pick(rng, propURLs), pick(rng, nonResource))
	}
	gr := pick(rng, propResources)
	verbs := all8
	if own, ok := policy.WildcardVerbs(gr[0], gr[1]); ok && rng.Intn(5) > 0 {
		verbs = own
	}
	r := obs(gr[0], gr[1], pick(rng, propNamespaces), pick(rng, verbs))
	// Mostly as the pipeline guarantees; sometimes not, to prove the
	// renderer keeps cluster-scoped resources out of Roles on its own.
	if policy.IsClusterScoped(gr[0], gr[1]) && rng.Intn(4) > 0 {
		r.Namespace = ""
	}
	if rng.Intn(2) == 0 {
		for range 1 + rng.Intn(3) {
			r.ResourceNames = append(r.ResourceNames, pick(rng, propNames))
		}
	}
	return r
}

func randomStrategy(rng *rand.Rand) v1alpha1.PolicyStrategy {
	return v1alpha1.PolicyStrategy{
		ScopeMode:     pick(rng, []v1alpha1.ScopeMode{v1alpha1.ScopeModeNamespaceStrict, v1alpha1.ScopeModeClusterScopeAllowed}),
		VerbMerge:     pick(rng, []v1alpha1.VerbMerge{v1alpha1.VerbMergeSmart, v1alpha1.VerbMergeExact}),
		Wildcards:     pick(rng, []v1alpha1.WildcardMode{v1alpha1.WildcardsForbidden, v1alpha1.WildcardsSafe}),
		ResourceNames: pick(rng, []v1alpha1.ResourceNameMode{v1alpha1.ResourceNamesOmit, v1alpha1.ResourceNamesExplicit}),
	}
}

func TestSuggestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20240601))
	subjects := []v1alpha1.Subject{sa("shop", "web"), user("alice@corp.com"), group("devs")}
	for i := range 400 {
		subject := pick(rng, subjects)
		s := randomStrategy(rng)
		observed := make([]v1alpha1.ObservedRule, 1+rng.Intn(60))
		for j := range observed {
			observed[j] = randomRule(rng)
		}

		sp := policy.Build(subject, observed, s)
		objs, err := policytest.ParseManifest(sp.Manifest)
		require.NoError(t, err)

		ok := assert.True(t, allowsEveryRule(t, objs, subject, observed, s), "case %d", i)
		ok = assert.True(t, addsNoVerbOrName(t, objs, observed, s), "case %d", i) && ok
		ok = assert.True(t, rolesStayNamespaced(t, objs), "case %d", i) && ok
		ok = assert.Equal(t, sp.Manifest, buildShuffled(t, rng, subject, observed, s), "case %d: order changed the YAML", i) && ok
		rendered, err := policy.Render(policy.Objects(subject, sp))
		require.NoError(t, err)
		ok = assert.Equal(t, rendered, sp.Manifest, "case %d: Build's manifest is not Render(Objects)", i) && ok
		if !ok {
			t.Logf("strategy %+v\nobserved %+v\nmanifest:\n%s", s, observed, sp.Manifest)
			return
		}
	}
}

// allowsEveryRule: property 1, judged by Kubernetes' own rule matching.
func allowsEveryRule(t *testing.T, objs []client.Object, subject v1alpha1.Subject, observed []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) bool {
	ok := true
	for _, r := range observed {
		if s.ResourceNames != v1alpha1.ResourceNamesExplicit {
			r.ResourceNames = nil
		}
		if !policytest.Allows(objs, subject, r) {
			t.Errorf("not allowed: %+v", r)
			ok = false
		}
	}
	return ok
}

// usage indexes what was observed per scope ("" for the ClusterRole).
type usage struct {
	verbs map[string]map[string]bool            // scope|group|resource-or-url -> verbs
	names map[string]map[string]map[string]bool // scope|group|resource -> verb -> names
}

func indexUsage(observed []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) usage {
	u := usage{verbs: map[string]map[string]bool{}, names: map[string]map[string]map[string]bool{}}
	for _, r := range observed {
		scope := r.Namespace
		if s.ScopeMode == v1alpha1.ScopeModeClusterScopeAllowed || r.NonResourceURL != "" ||
			policy.IsClusterScoped(r.APIGroup, r.Resource) {
			scope = ""
		}
		key := scope + "|" + r.APIGroup + "|" + r.Resource + r.NonResourceURL
		if u.verbs[key] == nil {
			u.verbs[key], u.names[key] = map[string]bool{}, map[string]map[string]bool{}
		}
		u.verbs[key][r.Verb] = true
		if u.names[key][r.Verb] == nil {
			u.names[key][r.Verb] = map[string]bool{}
		}
		for _, n := range r.ResourceNames {
			u.names[key][r.Verb][n] = true
		}
	}
	return u
}

// addsNoVerbOrName: property 2. Every verb granted on a resource was observed
// there in that scope; `*` only under Safe with the complete set observed;
// every name granted was seen with that verb.
func addsNoVerbOrName(t *testing.T, objs []client.Object, observed []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) bool {
	u := indexUsage(observed, s)
	ok := true
	for scope, rules := range rulesByScope(objs) {
		for _, r := range rules {
			for _, sub := range expand(r) {
				key := scope + "|" + sub.group + "|" + sub.target
				if !grantedVerbObserved(u, key, sub, s) {
					t.Errorf("scope %q grants %q on %s without observing it", scope, sub.verb, sub.target)
					ok = false
				}
				if sub.name != "" && !nameObserved(u, key, sub) {
					t.Errorf("scope %q grants %s %s name %q never seen", scope, sub.verb, sub.target, sub.name)
					ok = false
				}
			}
		}
	}
	return ok
}

func grantedVerbObserved(u usage, key string, sub atomRule, s v1alpha1.PolicyStrategy) bool {
	if sub.verb != "*" {
		return u.verbs[key][sub.verb]
	}
	all, known := policy.WildcardVerbs(sub.group, sub.target)
	if s.Wildcards != v1alpha1.WildcardsSafe || !known || sub.url {
		return false
	}
	for _, v := range all {
		if !u.verbs[key][v] {
			return false
		}
	}
	return true
}

// nameObserved: a `*` rule with names needs the names seen with each verb it
// stands for.
func nameObserved(u usage, key string, sub atomRule) bool {
	verbs := []string{sub.verb}
	if sub.verb == "*" {
		verbs, _ = policy.WildcardVerbs(sub.group, sub.target)
	}
	for _, v := range verbs {
		if !u.names[key][v][sub.name] {
			return false
		}
	}
	return len(verbs) > 0
}

type atomRule struct {
	group, target, verb, name string
	url                       bool
}

func expand(r rbacv1.PolicyRule) []atomRule {
	var out []atomRule
	names := r.ResourceNames
	if len(names) == 0 {
		names = []string{""}
	}
	for _, v := range r.Verbs {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, n := range names {
					out = append(out, atomRule{group: g, target: res, verb: v, name: n})
				}
			}
		}
		for _, u := range r.NonResourceURLs {
			out = append(out, atomRule{target: u, verb: v, url: true})
		}
	}
	return out
}

func rulesByScope(objs []client.Object) map[string][]rbacv1.PolicyRule {
	out := map[string][]rbacv1.PolicyRule{}
	for _, obj := range objs {
		switch role := obj.(type) {
		case *rbacv1.ClusterRole:
			out[""] = append(out[""], role.Rules...)
		case *rbacv1.Role:
			out[role.Namespace] = append(out[role.Namespace], role.Rules...)
		}
	}
	return out
}

// rolesStayNamespaced: property 4.
func rolesStayNamespaced(t *testing.T, objs []client.Object) bool {
	ok := true
	for _, obj := range objs {
		role, isRole := obj.(*rbacv1.Role)
		if !isRole {
			continue
		}
		for _, r := range role.Rules {
			if len(r.NonResourceURLs) > 0 {
				t.Errorf("Role %s/%s has nonResourceURLs", role.Namespace, role.Name)
				ok = false
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					if policy.IsClusterScoped(g, res) {
						t.Errorf("Role %s/%s has cluster-scoped %s %s", role.Namespace, role.Name, g, res)
						ok = false
					}
				}
			}
		}
	}
	return ok
}

// buildShuffled renders the same observations in another order: property 3.
func buildShuffled(t *testing.T, rng *rand.Rand, subject v1alpha1.Subject, observed []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) string {
	shuffled := slices.Clone(observed)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i := range shuffled {
		names := slices.Clone(shuffled[i].ResourceNames)
		rng.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
		shuffled[i].ResourceNames = names
	}
	sp := policy.Build(subject, shuffled, s)
	return sp.Manifest
}

package compliance

import (
	"math/bits"
	"math/rand"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/audicia/audicia/internal/rbac"
)

var (
	randGroups    = []string{"", "apps", "rbac.authorization.k8s.io", "authentication.k8s.io", "certificates.k8s.io", "*", "nope"}
	randResources = []string{"pods", "pods/exec", "pods/log", "*/scale", "*/status", "*", "deployments", "deployments/scale",
		"roles", "clusterroles", "secrets", "nodes", "pods/*", "users", "serviceaccounts", "signers", "*/exec", "namespaces"}
	randVerbs = []string{"get", "list", "watch", "*", "create", "update", "patch", "delete", "deletecollection",
		"bind", "escalate", "impersonate", "approve", "foo"}
	randNames = []string{"a", "b", "c"}
	randURLs  = []string{"/healthz", "/healthz/*", "/healthz*", "*", "/api", "/api/*", "/metrics", "/"}
)

func pick(r *rand.Rand, from []string, max int) []string {
	n := 1 + r.Intn(max)
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, from[r.Intn(len(from))])
	}
	return out
}

func randomRule(r *rand.Rand) rbacv1.PolicyRule {
	if r.Intn(5) == 0 {
		return rbacv1.PolicyRule{NonResourceURLs: pick(r, randURLs, 2), Verbs: pick(r, []string{"get", "post", "*", "head"}, 2)}
	}
	rule := rbacv1.PolicyRule{APIGroups: pick(r, randGroups, 2), Resources: pick(r, randResources, 3), Verbs: pick(r, randVerbs, 3)}
	if r.Intn(3) == 0 {
		rule.ResourceNames = pick(r, randNames, 2)
	}
	return rule
}

// TestExpansionMatchesKubernetes holds the atoms a random rule expands to,
// over the real discovered resources, to what Kubernetes' validation.Covers
// says the rule covers: for every resource and verb the catalog knows, an
// unrestricted atom exists exactly when the rule covers the request for any
// name, a name-restricted atom exactly when it covers it for some names only.
func TestExpansionMatchesKubernetes(t *testing.T) {
	c := NewCatalog(loadResources(t))
	r := rand.New(rand.NewSource(4))
	for iter := 0; iter < 3000; iter++ {
		rule := randomRule(r)
		ns := ""
		if r.Intn(2) == 0 {
			ns = "shop"
		}
		a := &atoms{c: c, scopes: map[string]*scopeAtoms{}, urls: map[urlAtom]uint8{}}
		a.add(rbac.Grant{Rule: rule, Namespace: ns})
		s := a.scope(ns)
		for i, e := range c.entries {
			for m := e.verbs; m != 0; m &= m - 1 {
				b := uint(bits.TrailingZeros64(m))
				verb := c.verbs[b]
				atom := rbacv1.PolicyRule{APIGroups: []string{e.group}, Resources: []string{e.resource}, Verbs: []string{verb}}
				inScope := ns == "" || e.rbacNamespaced
				whole, _ := validation.Covers([]rbacv1.PolicyRule{rule}, []rbacv1.PolicyRule{atom})
				if got := s.full[i]&(1<<b) != 0; got != (whole && inScope) {
					t.Fatalf("rule %v in %q, %s %s/%s: unrestricted atom %v, Covers says %v", rule, ns, verb, e.group, e.resource, got, whole)
				}
				var names []string
				for _, n := range rule.ResourceNames {
					atom.ResourceNames = []string{n}
					if ok, _ := validation.Covers([]rbacv1.PolicyRule{rule}, []rbacv1.PolicyRule{atom}); ok && !has(names, n) {
						names = append(names, n)
					}
				}
				// Creates of a resource name no object yet; a subresource's do.
				nameless := e.sub == "" && (verb == "create" || verb == "deletecollection")
				want := !whole && inScope && len(names) > 0 && !nameless
				st := s.named[namedAtom{i, b}]
				if (st != nil) != want {
					t.Fatalf("rule %v in %q, %s %s/%s: restricted atom %v, want %v", rule, ns, verb, e.group, e.resource, st != nil, want)
				}
				if st != nil && len(st.names) != len(names) {
					t.Fatalf("rule %v: names %v, want %v", rule, st.names, names)
				}
			}
		}
		// Non-resource URLs: only through cluster-wide grants.
		for _, u := range randURLs {
			for _, v := range nonResourceVerbs {
				_, ok := a.urls[urlAtom{u, v}]
				want := ns == "" && len(rule.NonResourceURLs) > 0 && has(rule.NonResourceURLs, u) && (has(rule.Verbs, v) || has(rule.Verbs, "*"))
				if ok != want {
					t.Fatalf("rule %v in %q: URL atom %s %s = %v, want %v", rule, ns, v, u, ok, want)
				}
			}
		}
	}
}

// TestAllowsMatchesKubernetes holds the request matcher behind "uncovered"
// to validation.Covers on random rules and requests.
func TestAllowsMatchesKubernetes(t *testing.T) {
	r := rand.New(rand.NewSource(37))
	requestURLs := []string{"/healthz", "/healthz/ready", "/healthzz", "/api", "/api/v1", "/metrics", "/"}
	for iter := 0; iter < 20000; iter++ {
		g := rbac.Grant{Rule: randomRule(r)}
		if r.Intn(2) == 0 {
			url := requestURLs[r.Intn(len(requestURLs))]
			verb := []string{"get", "post", "head", "put"}[r.Intn(4)]
			want, _ := validation.Covers([]rbacv1.PolicyRule{g.Rule}, []rbacv1.PolicyRule{{NonResourceURLs: []string{url}, Verbs: []string{verb}}})
			got := verbMatches(&g.Rule, verb) && urlMatches(&g.Rule, url)
			if got != want {
				t.Fatalf("rule %v, %s %s: got %v, Covers %v", g.Rule, verb, url, got, want)
			}
			continue
		}
		group := randGroups[r.Intn(len(randGroups)-2)]
		resource := []string{"pods", "pods/exec", "deployments/scale", "secrets", "nodes/status", "roles"}[r.Intn(6)]
		verb := randVerbs[r.Intn(len(randVerbs))]
		if verb == "*" {
			verb = "get"
		}
		name := ""
		servant := rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{verb}}
		if r.Intn(2) == 0 {
			name = randNames[r.Intn(len(randNames))]
			servant.ResourceNames = []string{name}
		}
		want, _ := validation.Covers([]rbacv1.PolicyRule{g.Rule}, []rbacv1.PolicyRule{servant})
		_, sub, _ := strings.Cut(resource, "/")
		if got := allows(&g, group, resource, sub, verb, "shop", name, false); got != want {
			t.Fatalf("rule %v, %s %s/%s %q: got %v, Covers %v", g.Rule, verb, group, resource, name, got, want)
		}
	}
}

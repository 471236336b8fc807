package compliance

import (
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/rbac"
)

// The matchers below decide whether a rule allows one request the way
// Kubernetes' RBAC authorizer does; tests hold them to
// k8s.io/component-helpers/auth/rbac/validation.

func has(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func verbMatches(r *rbacv1.PolicyRule, verb string) bool {
	return has(r.Verbs, rbacv1.VerbAll) || has(r.Verbs, verb)
}

func groupMatches(r *rbacv1.PolicyRule, group string) bool {
	return has(r.APIGroups, rbacv1.APIGroupAll) || has(r.APIGroups, group)
}

// resourceMatches: `*`, the exact resource ("pods/exec"), or `*/sub` for a
// request of subresource sub.
func resourceMatches(r *rbacv1.PolicyRule, combined, sub string) bool {
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || res == combined {
			return true
		}
		if sub != "" && strings.HasPrefix(res, "*/") && res[2:] == sub {
			return true
		}
	}
	return false
}

// nameMatches: a rule without resourceNames allows any name; one with them
// allows only those (and so never a request without a name).
func nameMatches(r *rbacv1.PolicyRule, name string) bool {
	return len(r.ResourceNames) == 0 || has(r.ResourceNames, name)
}

func urlMatches(r *rbacv1.PolicyRule, url string) bool {
	for _, p := range r.NonResourceURLs {
		if urlCovers(p, url) {
			return true
		}
	}
	return false
}

// allows reports whether grant g allows a resource request of verb on
// group/combined ("pods/exec") named name in namespace ns ("" for
// cluster-scoped or all-namespace requests). A RoleBinding's grant applies
// only inside its namespace.
func allows(g *rbac.Grant, group, combined, sub, verb, ns, name string, anyName bool) bool {
	if g.Namespace != "" && g.Namespace != ns {
		return false
	}
	r := &g.Rule
	return verbMatches(r, verb) && groupMatches(r, group) && resourceMatches(r, combined, sub) &&
		(anyName || nameMatches(r, name))
}

// uncoveredPart reports whether the grants (baseline included) allow the
// observed rule; if not, it returns the part they do not allow: the whole
// rule, or the names among its resourceNames that no grant allows. A rule
// without names that was allowed at least once also counts as covered by a
// name-restricted grant: its names were not kept, and the server allowed it.
func uncoveredPart(grants []rbac.Grant, o *v1alpha1.ObservedRule) (ScopedRule, bool) {
	if o.NonResourceURL != "" {
		for i := range grants {
			g := &grants[i]
			if g.Namespace == "" && verbMatches(&g.Rule, o.Verb) && urlMatches(&g.Rule, o.NonResourceURL) {
				return ScopedRule{}, true
			}
		}
		return ScopedRule{PolicyRule: rbacv1.PolicyRule{NonResourceURLs: []string{o.NonResourceURL}, Verbs: []string{o.Verb}}}, false
	}
	_, sub, _ := strings.Cut(o.Resource, "/")
	any := func(ns, name string, anyName bool) bool {
		for i := range grants {
			if allows(&grants[i], o.APIGroup, o.Resource, sub, o.Verb, ns, name, anyName) {
				return true
			}
		}
		return false
	}
	out := ScopedRule{Namespace: o.Namespace, PolicyRule: rbacv1.PolicyRule{
		APIGroups: []string{o.APIGroup}, Resources: []string{o.Resource}, Verbs: []string{o.Verb},
	}}
	if len(o.ResourceNames) == 0 {
		if any(o.Namespace, "", false) || (o.Count > o.DeniedCount && any(o.Namespace, "", true)) {
			return ScopedRule{}, true
		}
		return out, false
	}
	namespaceObject := isNamespaceObject(o.APIGroup, o.Resource)
	for _, n := range o.ResourceNames {
		// A request on namespace X is authorized as a request in X.
		ns := o.Namespace
		if namespaceObject && ns == "" {
			ns = n
		}
		if !any(ns, n, false) {
			out.ResourceNames = append(out.ResourceNames, n)
		}
	}
	return out, len(out.ResourceNames) == 0
}

// ruleLess orders scoped rules by namespace, then resource rules before URLs,
// then group, resource, URL and names.
func ruleLess(a, b *ScopedRule) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	au, bu := len(a.NonResourceURLs) > 0, len(b.NonResourceURLs) > 0
	if au != bu {
		return bu
	}
	if x, y := first(a.APIGroups), first(b.APIGroups); x != y {
		return x < y
	}
	if x, y := first(a.Resources), first(b.Resources); x != y {
		return x < y
	}
	if x, y := first(a.NonResourceURLs), first(b.NonResourceURLs); x != y {
		return x < y
	}
	return strings.Join(a.ResourceNames, "\x00") < strings.Join(b.ResourceNames, "\x00")
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// mergeRules sorts single-verb rules and merges those that differ only in
// their verb.
func mergeRules(rules []ScopedRule) []ScopedRule {
	sort.SliceStable(rules, func(i, j int) bool { return ruleLess(&rules[i], &rules[j]) })
	var out []ScopedRule
	for _, r := range rules {
		if n := len(out); n > 0 && !ruleLess(&out[n-1], &r) {
			if !has(out[n-1].Verbs, r.Verbs[0]) {
				out[n-1].Verbs = append(out[n-1].Verbs, r.Verbs[0])
			}
			continue
		}
		r.Verbs = append([]string(nil), r.Verbs...)
		out = append(out, r)
	}
	for i := range out {
		sort.Strings(out[i].Verbs)
	}
	return out
}

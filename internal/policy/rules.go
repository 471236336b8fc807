package policy

import (
	"cmp"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

// grant is the verbs used on one resource (or URL) with one set of names: the
// unit that may be abbreviated with `*` and merged with its peers.
type grant struct {
	group, resource, url string
	names                []string // nil: any name
	verbs                []string // sorted; ["*"] once abbreviated
}

// scopeRules turns the atoms of one scope into sorted policy rules.
func scopeRules(atoms []namedAtom, s v1alpha1.PolicyStrategy) []rbacv1.PolicyRule {
	grants := grantsOf(atoms, s.Wildcards == v1alpha1.WildcardsSafe)
	var rules []rbacv1.PolicyRule
	if s.VerbMerge == v1alpha1.VerbMergeExact {
		rules = exactRules(grants)
	} else {
		rules = mergedRules(grants)
	}
	sortRules(rules)
	return rules
}

// grantsOf gathers the verbs of each (resource or URL, names). Verbs used with
// different names stay apart: merging them would allow each verb on the
// other verb's objects.
func grantsOf(atoms []namedAtom, wildcards bool) []grant {
	byKey := map[string]*grant{}
	for _, a := range atoms {
		key := strings.Join([]string{a.group, a.resource, a.url, strings.Join(a.names, "\x01")}, "\x00")
		g, ok := byKey[key]
		if !ok {
			g = &grant{group: a.group, resource: a.resource, url: a.url, names: a.names}
			byKey[key] = g
		}
		g.verbs = append(g.verbs, a.verb)
	}
	grants := make([]grant, 0, len(byKey))
	for _, key := range sortedKeys(byKey) {
		g := byKey[key]
		slices.Sort(g.verbs)
		if wildcards && g.url == "" && abbreviates(g.group, g.resource, g.verbs) {
			g.verbs = []string{rbacv1.VerbAll}
		}
		grants = append(grants, *g)
	}
	return grants
}

// abbreviates reports whether `*` means exactly the verbs used. A single verb
// is left spelled out: `*` would shorten nothing and only hide what is allowed.
func abbreviates(group, resource string, used []string) bool {
	all, ok := WildcardVerbs(group, resource)
	if !ok || len(all) < 2 {
		return false
	}
	for _, v := range all {
		if !slices.Contains(used, v) {
			return false
		}
	}
	return true
}

// exactRules writes one rule per verb (or one `*` rule) of each grant.
func exactRules(grants []grant) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, g := range grants {
		for _, v := range g.verbs {
			rules = append(rules, g.rule([]string{v}))
		}
	}
	return rules
}

// mergedRules merges grants of one API group that share both their verbs and
// their names into one rule, so the merged rule allows nothing more than its
// parts. URLs merge the same way by their verbs.
func mergedRules(grants []grant) []rbacv1.PolicyRule {
	byKey := map[string]*rbacv1.PolicyRule{}
	var order []string
	for _, g := range grants {
		kind := "resource"
		if g.url != "" {
			kind = "url"
		}
		key := strings.Join([]string{kind, g.group, strings.Join(g.names, "\x01"), strings.Join(g.verbs, ",")}, "\x00")
		r, ok := byKey[key]
		if !ok {
			rule := g.rule(g.verbs)
			byKey[key] = &rule
			order = append(order, key)
			continue
		}
		if g.url != "" {
			r.NonResourceURLs = append(r.NonResourceURLs, g.url)
		} else {
			r.Resources = append(r.Resources, g.resource)
		}
	}
	rules := make([]rbacv1.PolicyRule, 0, len(order))
	for _, key := range order {
		r := byKey[key]
		slices.Sort(r.Resources)
		slices.Sort(r.NonResourceURLs)
		rules = append(rules, *r)
	}
	return rules
}

func (g grant) rule(verbs []string) rbacv1.PolicyRule {
	if g.url != "" {
		return rbacv1.PolicyRule{NonResourceURLs: []string{g.url}, Verbs: verbs}
	}
	return rbacv1.PolicyRule{
		APIGroups:     []string{g.group},
		Resources:     []string{g.resource},
		ResourceNames: slices.Clone(g.names),
		Verbs:         verbs,
	}
}

// sortRules orders rules by their fields, each joined, so the output does not
// depend on map iteration or input order. The joined fields are worked out
// once per rule, not once per comparison.
func sortRules(rules []rbacv1.PolicyRule) {
	type keyed struct {
		key  [5]string
		rule rbacv1.PolicyRule
	}
	byKey := make([]keyed, len(rules))
	for i, r := range rules {
		byKey[i] = keyed{rule: r, key: [5]string{
			strings.Join(r.APIGroups, ","),
			strings.Join(r.Resources, ","),
			strings.Join(r.NonResourceURLs, ","),
			strings.Join(r.ResourceNames, ","),
			strings.Join(r.Verbs, ","),
		}}
	}
	slices.SortFunc(byKey, func(a, b keyed) int {
		return cmp.Or(
			cmp.Compare(a.key[0], b.key[0]),
			cmp.Compare(a.key[1], b.key[1]),
			cmp.Compare(a.key[2], b.key[2]),
			cmp.Compare(a.key[3], b.key[3]),
			cmp.Compare(a.key[4], b.key[4]),
		)
	})
	for i := range byKey {
		rules[i] = byKey[i].rule
	}
}

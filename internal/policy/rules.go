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
	group  string
	target string // the resource, or the URL
	url    bool
	names  []string // none: any name
	verbs  []string // sorted; ["*"] once abbreviated
}

// allVerbs is the verbs of an abbreviated grant; rules get copies.
var allVerbs = []string{rbacv1.VerbAll}

// ruleBuilder turns the atoms of a policy into rules, scope by scope. The
// lists of all its rules come from one backing array, the rules from
// another: a policy has thousands of small lists, and allocating them one by
// one cost more than computing them.
type ruleBuilder struct {
	wildcards, exact bool
	scopes           int

	strs  arena[string]
	rules arena[rbacv1.PolicyRule]
	sc    *scratch
}

// newRuleBuilder sizes the arenas for the atoms, sorted by compareAtoms. A
// resource (or URL) gets at most one rule per atom, each with a group, the
// target, the verb and the names, and a merged rule is no longer than the
// grants it merges. Under smart merge, a resource used with one set of
// names is one grant, with one group, one target, its names and at most a
// verb per atom.
func newRuleBuilder(atoms []atom, s v1alpha1.PolicyStrategy, sc *scratch) ruleBuilder {
	b := ruleBuilder{
		wildcards: s.Wildcards == v1alpha1.WildcardsSafe,
		exact:     s.VerbMerge == v1alpha1.VerbMergeExact,
		sc:        sc,
	}
	strs, rules := 0, 0
	for scoped := range groups(atoms, sameScope) {
		b.scopes++
		for target := range groups(scoped, sameTarget) {
			if !b.exact && oneNameSet(target) {
				rules++
				strs += 2 + len(target) + len(target[0].names)
				continue
			}
			rules += len(target)
			for i := range target {
				strs += 3 + len(target[i].names)
			}
		}
	}
	b.strs = newArena[string](strs)
	b.rules = newArena[rbacv1.PolicyRule](rules)
	return b
}

// scopeRules turns the atoms of one scope, sorted by compareTargets, into
// sorted policy rules.
func (b *ruleBuilder) scopeRules(atoms []atom) []rbacv1.PolicyRule {
	grants := b.grantsOf(atoms)
	var rules []rbacv1.PolicyRule
	if b.exact {
		rules = b.exactRules(grants)
	} else {
		rules = b.mergedRules(grants)
	}
	sortRules(rules)
	return rules
}

// grantsOf gathers the verbs of each (resource or URL, names), sorted by
// resource or URL, then names. Verbs used with different names stay apart:
// merging them would allow each verb on the other verb's objects.
func (b *ruleBuilder) grantsOf(atoms []atom) []grant {
	start := len(b.sc.grants)
	for target := range groups(atoms, sameTarget) {
		// Atoms of one target come sorted by verb; a stable sort by names
		// keeps the verbs of each set of names sorted.
		if !oneNameSet(target) {
			slices.SortStableFunc(target, func(x, y atom) int { return slices.Compare(x.names, y.names) })
		}
		for named := range groups(target, func(x, y *atom) bool { return slices.Equal(x.names, y.names) }) {
			first := len(b.sc.verbs)
			for i := range named {
				b.sc.verbs = append(b.sc.verbs, named[i].verb)
			}
			a := &named[0]
			g := grant{group: a.group, target: a.resource, names: a.names, verbs: b.sc.verbs[first:]}
			if a.url != "" {
				g.target, g.url = a.url, true
			}
			if b.wildcards && !g.url && abbreviates(g.group, g.target, g.verbs) {
				g.verbs = allVerbs
			}
			b.sc.grants = append(b.sc.grants, g)
		}
	}
	return b.sc.grants[start:]
}

// oneNameSet reports whether the atoms all have the same names, as they do
// unless names are kept.
func oneNameSet(atoms []atom) bool {
	for i := 1; i < len(atoms); i++ {
		if !slices.Equal(atoms[i].names, atoms[0].names) {
			return false
		}
	}
	return true
}

// abbreviates reports whether `*` means exactly the verbs used. A single verb
// is left spelled out: `*` would shorten nothing and only hide what is allowed.
func abbreviates(group, resource string, used []string) bool {
	all := wildcardVerbs(group, resource)
	if len(all) < 2 {
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
func (b *ruleBuilder) exactRules(grants []grant) []rbacv1.PolicyRule {
	n := 0
	for i := range grants {
		n += len(grants[i].verbs)
	}
	rules := b.rules.take(n)[:0]
	for i := range grants {
		g := &grants[i]
		for _, v := range g.verbs {
			rules = append(rules, b.rule(g, b.strs.clone(g.target), v))
		}
	}
	return rules
}

// mergedRules merges grants of one API group that share both their verbs and
// their names into one rule, so the merged rule allows nothing more than its
// parts. URLs merge the same way by their verbs.
//
// A stable sort of the grants by what they share makes each rule's grants
// adjacent, in the order they came. The rules are then listed in the order
// of their first grants, as a map of merged rules used to list them: rules
// that sortRules finds equal (a comma in a name makes two names join like
// one) keep the order they come in, which the unstable sort then settles the
// same way as before.
func (b *ruleBuilder) mergedRules(grants []grant) []rbacv1.PolicyRule {
	perm := b.sc.perm[:0]
	for i := range grants {
		perm = append(perm, i)
	}
	slices.SortStableFunc(perm, func(i, j int) int { return compareMergeKeys(&grants[i], &grants[j]) })
	runs := b.sc.runs[:0]
	for run := range groups(perm, func(i, j *int) bool { return compareMergeKeys(&grants[*i], &grants[*j]) == 0 }) {
		runs = append(runs, run)
	}
	b.sc.perm, b.sc.runs = perm, runs
	slices.SortFunc(runs, func(x, y []int) int { return cmp.Compare(x[0], y[0]) })

	rules := b.rules.take(len(runs))
	for i, run := range runs {
		// Grants come sorted by target, so the list is sorted too.
		targets := b.strs.take(len(run))
		for j, g := range run {
			targets[j] = grants[g].target
		}
		first := &grants[run[0]]
		rules[i] = b.rule(first, targets, first.verbs...)
	}
	return rules
}

// compareMergeKeys orders grants by what merged grants share: being a URL,
// group, names and verbs.
func compareMergeKeys(x, y *grant) int {
	if x.url != y.url {
		if y.url {
			return -1
		}
		return 1
	}
	if c := strings.Compare(x.group, y.group); c != 0 {
		return c
	}
	if c := slices.Compare(x.names, y.names); c != 0 {
		return c
	}
	return slices.Compare(x.verbs, y.verbs)
}

// rule is the rule that grants verbs on the targets (resources or URLs) of
// grants like g, its lists copied into the arena.
func (b *ruleBuilder) rule(g *grant, targets []string, verbs ...string) rbacv1.PolicyRule {
	if g.url {
		return rbacv1.PolicyRule{NonResourceURLs: targets, Verbs: b.strs.clone(verbs...)}
	}
	return rbacv1.PolicyRule{
		APIGroups:     b.strs.clone(g.group),
		Resources:     targets,
		ResourceNames: b.strs.clone(g.names...),
		Verbs:         b.strs.clone(verbs...),
	}
}

// sortRules orders rules by their fields, each as if joined with commas, so
// the output does not depend on input order.
func sortRules(rules []rbacv1.PolicyRule) {
	slices.SortFunc(rules, func(x, y rbacv1.PolicyRule) int {
		if c := compareJoined(x.APIGroups, y.APIGroups); c != 0 {
			return c
		}
		if c := compareJoined(x.Resources, y.Resources); c != 0 {
			return c
		}
		if c := compareJoined(x.NonResourceURLs, y.NonResourceURLs); c != 0 {
			return c
		}
		if c := compareJoined(x.ResourceNames, y.ResourceNames); c != 0 {
			return c
		}
		return compareJoined(x.Verbs, y.Verbs)
	})
}

// compareJoined orders a and b as strings.Join(a, ",") and strings.Join(b,
// ",") are ordered. It joins them only when the first elements that differ do
// not decide: when one is a prefix of the other and a comma follows both, or
// a list is empty.
func compareJoined(a, b []string) int {
	if len(a) == 1 && len(b) == 1 {
		return strings.Compare(a[0], b[0])
	}
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		n := 0
		for n < len(x) && n < len(y) && x[n] == y[n] {
			n++
		}
		xc, xok := joinedByte(a, i, n)
		yc, yok := joinedByte(b, i, n)
		switch {
		case !xok: // a's text ends where b's goes on
			return -1
		case !yok:
			return 1
		case xc != yc:
			return cmp.Compare(xc, yc)
		}
		return compareByJoining(a, b)
	}
	switch {
	case len(a) == len(b):
		return 0
	case len(a) > 0 && len(b) > 0: // the longer goes on with a comma
		return cmp.Compare(len(a), len(b))
	}
	return compareByJoining(a, b)
}

func compareByJoining(a, b []string) int {
	return strings.Compare(strings.Join(a, ","), strings.Join(b, ","))
}

// joinedByte is the byte of strings.Join(list, ",") at offset n of list[i],
// which is the comma after it when n is its length; ok is false past the end.
func joinedByte(list []string, i, n int) (c byte, ok bool) {
	switch {
	case n < len(list[i]):
		return list[i][n], true
	case i+1 < len(list):
		return ',', true
	}
	return 0, false
}

// arena hands out slices of one backing array, sized up front for what its
// user needs; each slice is capped at its length, so that appending to one
// never writes into another.
type arena[T any] struct{ free []T }

func newArena[T any](n int) arena[T] { return arena[T]{free: make([]T, n)} }

// take returns n zero values, from a new backing array if the arena was sized
// too small.
func (a *arena[T]) take(n int) []T {
	if n > len(a.free) {
		a.free = make([]T, max(n, 64))
	}
	s := a.free[:n:n]
	a.free = a.free[n:]
	return s
}

// clone copies items into the arena; no items give nil, as in a rule without
// resourceNames.
func (a *arena[T]) clone(items ...T) []T {
	if len(items) == 0 {
		return nil
	}
	s := a.take(len(items))
	copy(s, items)
	return s
}

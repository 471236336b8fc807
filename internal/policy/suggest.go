package policy

import (
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/audicia/audicia/api/v1alpha1"
)

// WithDefaults fills the knobs left unset with the defaults the CRD declares,
// so code that builds a strategy by hand gets the same policy as the API.
func WithDefaults(s v1alpha1.PolicyStrategy) v1alpha1.PolicyStrategy {
	if s.ScopeMode == "" {
		s.ScopeMode = v1alpha1.ScopeModeNamespaceStrict
	}
	if s.VerbMerge == "" {
		s.VerbMerge = v1alpha1.VerbMergeSmart
	}
	if s.Wildcards == "" {
		s.Wildcards = v1alpha1.WildcardsForbidden
	}
	if s.ResourceNames == "" {
		s.ResourceNames = v1alpha1.ResourceNamesOmit
	}
	if s.MigrateDeprecatedGroups == nil {
		migrate := true
		s.MigrateDeprecatedGroups = &migrate
	}
	return s
}

// Suggest computes the least-privilege rules that allow every observed rule.
// Denied requests count like allowed ones: they are what the subject needs
// and lacks. The result depends only on the set of observed rules, not on
// their order. Group migration is the pipeline's job: rules arrive normalized.
//
// It works on one sorted slice of atoms rather than on maps: a report has
// thousands of subjects, and hashing and allocating per rule was most of the
// time of an analysis. Sorting puts each scope's atoms together, and within a
// scope those of one resource together, in the order the rules are written.
func Suggest(rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) v1alpha1.SuggestedPolicy {
	s = WithDefaults(s)
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	atoms := dropCoveredByCluster(sc.collect(rules, s))
	b := newRuleBuilder(atoms, s, sc)
	var sp v1alpha1.SuggestedPolicy
	for scoped := range groups(atoms, sameScope) {
		rules := b.scopeRules(scoped)
		if scope := scoped[0].scope; scope == "" {
			sp.ClusterRules = rules
		} else {
			if sp.NamespaceRules == nil {
				sp.NamespaceRules = make([]v1alpha1.NamespaceRules, 0, b.scopes)
			}
			sp.NamespaceRules = append(sp.NamespaceRules, v1alpha1.NamespaceRules{Namespace: scope, Rules: rules})
		}
	}
	return sp
}

// scratch is the working memory of Suggest. Build runs once per subject,
// thousands of times in an analysis, and allocating this memory for each
// made collecting the garbage a good part of the cost; a pool keeps it
// between calls.
type scratch struct {
	unsorted []atom // the atoms in the order of the observed rules
	order    []int  // indexes into unsorted, sorted
	atoms    []atom // the atoms sorted, each once
	grants   []grant
	verbs    []string // the verbs of the grants
	perm     []int    // indexes into a scope's grants, by rule
	runs     [][]int  // a scope's rules, as runs of perm
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release clears the strings the scratch points to, so that the pool keeps
// no caller's memory alive, and returns it to the pool. The slices are only
// appended to, and reordered or cut within their length, so their lengths
// cover all that the call used.
func (sc *scratch) release() {
	clear(sc.unsorted)
	clear(sc.atoms)
	clear(sc.grants)
	clear(sc.verbs)
	sc.unsorted, sc.atoms, sc.grants, sc.verbs = sc.unsorted[:0], sc.atoms[:0], sc.grants[:0], sc.verbs[:0]
	scratchPool.Put(sc)
}

// groups yields the runs of adjacent elements of s that belong together by
// same, which is asked about the first element of a run and each next one.
func groups[E any](s []E, same func(first, next *E) bool) iter.Seq[[]E] {
	return func(yield func([]E) bool) {
		for len(s) > 0 {
			n := 1
			for n < len(s) && same(&s[0], &s[n]) {
				n++
			}
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
	}
}

// atom is one permission: a verb on a resource or a URL in one scope, with
// the object names it was used on.
type atom struct {
	scope    string // namespace of the Role; "" for the ClusterRole
	group    string
	resource string
	url      string
	verb     string
	// names are sorted and unique. None means "any name": some request had
	// none, or names are not kept, and only a rule without resourceNames
	// allows that. They may be the observed rule's own: they are read, never
	// written, and the rules get copies.
	names []string
}

// collect returns the atoms of the observed rules, sorted by compareAtoms,
// each once with the union of its names. It sorts their indexes, not the
// atoms: moving an atom means moving six strings, which the garbage
// collector watches.
func (sc *scratch) collect(rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) []atom {
	unsorted, order := sc.unsorted[:0], sc.order[:0]
	for i := range rules {
		r := &rules[i]
		if r.Verb == "" || (r.Resource == "" && r.NonResourceURL == "") {
			continue
		}
		a := atom{scope: scopeOf(r, s), verb: r.Verb}
		if r.NonResourceURL != "" {
			a.url = r.NonResourceURL
		} else {
			a.group, a.resource = r.APIGroup, r.Resource
		}
		if keepsNames(r, s) {
			a.names = cleanNames(r.ResourceNames)
		}
		order = append(order, len(unsorted))
		unsorted = append(unsorted, a)
	}
	sc.unsorted, sc.order = unsorted, order
	slices.SortFunc(order, func(i, j int) int { return compareAtoms(&unsorted[i], &unsorted[j]) })

	// The same atom comes from several rules when they differ only where
	// Suggest does not look: the namespace of a rule granted cluster-wide.
	atoms := sc.atoms[:0]
	for same := range groups(order, func(i, j *int) bool { return compareAtoms(&unsorted[*i], &unsorted[*j]) == 0 }) {
		a := unsorted[same[0]]
		if len(same) > 1 {
			a.names = unionNames(unsorted, same)
		}
		atoms = append(atoms, a)
	}
	sc.atoms = atoms
	return atoms
}

// compareAtoms orders atoms by scope, then by what the rules are sorted by.
func compareAtoms(a, b *atom) int {
	if c := strings.Compare(a.scope, b.scope); c != 0 {
		return c
	}
	return compareTargets(a, b)
}

// compareTargets orders atoms by all but their scope.
func compareTargets(a, b *atom) int {
	if c := strings.Compare(a.group, b.group); c != 0 {
		return c
	}
	if c := strings.Compare(a.resource, b.resource); c != 0 {
		return c
	}
	if c := strings.Compare(a.url, b.url); c != 0 {
		return c
	}
	return strings.Compare(a.verb, b.verb)
}

func sameScope(a, b *atom) bool { return a.scope == b.scope }

// sameTarget reports atoms of one resource or URL, whatever their verb.
func sameTarget(a, b *atom) bool {
	return a.group == b.group && a.resource == b.resource && a.url == b.url
}

// cleanNames returns names sorted, unique and without the empty name. The
// pipeline gives them so, and then they are returned as they are.
func cleanNames(names []string) []string {
	if len(names) == 0 || (names[0] != "" && strictlySorted(names)) {
		return names
	}
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	if names[0] == "" {
		names = names[1:]
	}
	return names
}

func strictlySorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// unionNames is the union of the names of equal atoms, given by their
// indexes; an atom without names widens it to "any name" for good.
func unionNames(atoms []atom, same []int) []string {
	var names []string
	for _, i := range same {
		if len(atoms[i].names) == 0 {
			return nil
		}
		names = append(names, atoms[i].names...)
	}
	return cleanNames(names)
}

// scopeOf is where a rule is granted. Non-resource URLs and cluster-scoped
// resources are checked by the API server without a namespace, so only a
// ClusterRole can grant them, whatever the pipeline recorded.
func scopeOf(r *v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) string {
	if s.ScopeMode == v1alpha1.ScopeModeClusterScopeAllowed ||
		r.NonResourceURL != "" || IsClusterScoped(r.APIGroup, r.Resource) {
		return ""
	}
	return r.Namespace
}

func keepsNames(r *v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) bool {
	return s.ResourceNames == v1alpha1.ResourceNamesExplicit && r.NonResourceURL == "" &&
		NamesApply(r.Verb, r.Resource)
}

// NamesApply reports whether RBAC can restrict the verb by object name. A
// create names no object, except on a subresource of an existing one
// (pods/exec, serviceaccounts/token), where the URL carries the name.
func NamesApply(verb, resource string) bool {
	switch verb {
	case "list", "watch", "deletecollection":
		return false
	case "create":
		_, sub := splitResource(resource)
		return sub != ""
	}
	return true
}

// dropCoveredByCluster removes namespaced atoms the ClusterRole already
// grants in every namespace, so Roles do not repeat it. The cluster atoms
// sort first, so they stay in place and can be searched.
func dropCoveredByCluster(atoms []atom) []atom {
	n := 0
	for n < len(atoms) && atoms[n].scope == "" {
		n++
	}
	cluster := atoms[:n]
	if len(cluster) == 0 {
		return atoms
	}
	kept := n
	for i := n; i < len(atoms); i++ {
		a := &atoms[i]
		j, found := sort.Find(len(cluster), func(j int) int { return compareTargets(a, &cluster[j]) })
		if found && covers(cluster[j].names, a.names) {
			continue
		}
		if kept != i {
			atoms[kept] = *a
		}
		kept++
	}
	return atoms[:kept]
}

// covers reports whether the owner's names include the servant's; no names
// is any name.
func covers(owner, servant []string) bool {
	if len(owner) == 0 {
		return true
	}
	if len(servant) == 0 {
		return false
	}
	for _, n := range servant {
		i, found := slices.BinarySearch(owner, n)
		if !found {
			return false
		}
		owner = owner[i+1:]
	}
	return true
}

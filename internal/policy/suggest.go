package policy

import (
	"slices"

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
func Suggest(rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) v1alpha1.SuggestedPolicy {
	s = WithDefaults(s)
	atoms := collect(rules, s)
	dropCoveredByCluster(atoms)

	byScope := map[string][]namedAtom{}
	for a, names := range atoms {
		byScope[a.scope] = append(byScope[a.scope], namedAtom{a, sortedNames(names)})
	}

	var sp v1alpha1.SuggestedPolicy
	for _, scope := range sortedKeys(byScope) {
		scoped := scopeRules(byScope[scope], s)
		if scope == "" {
			sp.ClusterRules = scoped
			continue
		}
		sp.NamespaceRules = append(sp.NamespaceRules, v1alpha1.NamespaceRules{Namespace: scope, Rules: scoped})
	}
	return sp
}

// atom is one permission: a verb on a resource or a URL in one scope.
type atom struct {
	scope    string // namespace of the Role; "" for the ClusterRole
	group    string
	resource string
	url      string
	verb     string
}

// nameSet holds the object names an atom was used on. A nil set means "any
// name": some request had none, or names are not kept, and only a rule
// without resourceNames allows that.
type nameSet map[string]struct{}

type namedAtom struct {
	atom
	names []string // sorted; nil for any name
}

func collect(rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) map[atom]nameSet {
	atoms := make(map[atom]nameSet, len(rules))
	for _, r := range rules {
		if r.Verb == "" || (r.Resource == "" && r.NonResourceURL == "") {
			continue
		}
		a := atom{scope: scopeOf(r, s), verb: r.Verb}
		if r.NonResourceURL != "" {
			a.url = r.NonResourceURL
		} else {
			a.group, a.resource = r.APIGroup, r.Resource
		}
		var names []string
		if keepsNames(r, s) {
			names = r.ResourceNames
		}
		addNames(atoms, a, names)
	}
	return atoms
}

// addNames unions names into the atom's set; a request without names widens
// the set to "any name" for good.
func addNames(atoms map[atom]nameSet, a atom, names []string) {
	cur, seen := atoms[a]
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "" })
	if len(names) == 0 || (seen && cur == nil) {
		atoms[a] = nil
		return
	}
	if cur == nil {
		cur = nameSet{}
		atoms[a] = cur
	}
	for _, n := range names {
		cur[n] = struct{}{}
	}
}

// scopeOf is where a rule is granted. Non-resource URLs and cluster-scoped
// resources are checked by the API server without a namespace, so only a
// ClusterRole can grant them, whatever the pipeline recorded.
func scopeOf(r v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) string {
	if s.ScopeMode == v1alpha1.ScopeModeClusterScopeAllowed ||
		r.NonResourceURL != "" || IsClusterScoped(r.APIGroup, r.Resource) {
		return ""
	}
	return r.Namespace
}

func keepsNames(r v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) bool {
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
// grants in every namespace, so Roles do not repeat it.
func dropCoveredByCluster(atoms map[atom]nameSet) {
	for a, names := range atoms {
		if a.scope == "" {
			continue
		}
		wide := a
		wide.scope = ""
		clusterNames, ok := atoms[wide]
		if ok && covers(clusterNames, names) {
			delete(atoms, a)
		}
	}
}

func covers(owner, servant nameSet) bool {
	if owner == nil {
		return true
	}
	if servant == nil {
		return false
	}
	for n := range servant {
		if _, ok := owner[n]; !ok {
			return false
		}
	}
	return true
}

func sortedNames(names nameSet) []string {
	if names == nil {
		return nil
	}
	return sortedKeys(names)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

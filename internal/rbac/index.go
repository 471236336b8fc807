package rbac

import (
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/audicia/audicia/api/v1alpha1"
)

// Snapshot is the live RBAC of a cluster at one moment, as plain values.
type Snapshot struct {
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
}

// Binding kinds as BindingRef.Kind names them.
const (
	KindClusterRoleBinding = "ClusterRoleBinding"
	KindRoleBinding        = "RoleBinding"
)

// BindingRef names a binding and the role it refers to.
type BindingRef struct {
	// Kind is ClusterRoleBinding or RoleBinding.
	Kind string `json:"kind"`
	// Namespace of a RoleBinding; empty for a ClusterRoleBinding.
	Namespace string `json:"namespace,omitempty"`
	// Name of the binding.
	Name string `json:"name"`
	// RoleKind is the kind of the referenced role: ClusterRole or Role.
	RoleKind string `json:"roleKind"`
	// RoleName is the name of the referenced role.
	RoleName string `json:"roleName"`
}

// String renders the reference as a person reads it:
// `RoleBinding shop/web -> Role view`.
func (b BindingRef) String() string {
	name := b.Name
	if b.Namespace != "" {
		name = b.Namespace + "/" + b.Name
	}
	return b.Kind + " " + name + " -> " + b.RoleKind + " " + b.RoleName
}

// Less orders references by kind (ClusterRoleBindings first), namespace and name.
func (b BindingRef) Less(o BindingRef) bool {
	if b.Kind != o.Kind {
		return b.Kind < o.Kind
	}
	if b.Namespace != o.Namespace {
		return b.Namespace < o.Namespace
	}
	if b.Name != o.Name {
		return b.Name < o.Name
	}
	if b.RoleKind != o.RoleKind {
		return b.RoleKind < o.RoleKind
	}
	return b.RoleName < o.RoleName
}

// Grant is one rule a subject holds through one binding.
type Grant struct {
	// Rule is the granted rule as the role states it. It is shared with the
	// Index: read it, do not modify it.
	Rule rbacv1.PolicyRule
	// Namespace is where the rule applies: "" for a ClusterRoleBinding
	// (cluster-wide), else the RoleBinding's namespace.
	Namespace string
	// Binding is the binding that grants the rule.
	Binding BindingRef
	// Baseline is true when the binding names the group system:authenticated
	// or system:unauthenticated, or is one of the cluster's default bindings
	// for system:serviceaccounts: every caller of that kind holds the rule,
	// so it is listed but not scored.
	Baseline bool
}

// isClusterDefault tells the bindings Kubernetes creates itself (its
// bootstrap policy), such as service account issuer discovery for every
// ServiceAccount: those granted to every ServiceAccount are baseline too,
// while a binding someone made for all ServiceAccounts is scored.
func isClusterDefault(labels map[string]string) bool {
	return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

// baselineGroups are the groups that every authenticated (respectively
// unauthenticated) caller is in.
var baselineGroups = map[string]bool{
	user.AllAuthenticated:   true,
	user.AllUnauthenticated: true,
}

// binding is a ClusterRoleBinding or RoleBinding reduced to what matching needs.
type binding struct {
	ref      BindingRef
	rules    []rbacv1.PolicyRule // nil when the role is missing
	missing  bool
	baseline bool
}

// Index answers which rules a subject holds. Build it once per RBAC change
// with NewIndex; it is safe for concurrent readers.
type Index struct {
	bindings []binding // sorted by ref
	// bySubject maps a binding-subject key (see userKey, groupKey, saKey) to
	// the positions in bindings of the bindings naming it, ascending.
	bySubject map[string][]int
	subjects  []v1alpha1.Subject
}

func userKey(name string) string          { return "U\x00" + name }
func groupKey(name string) string         { return "G\x00" + name }
func saKey(namespace, name string) string { return "S\x00" + namespace + "\x00" + name }

// NewIndex resolves roles (aggregated ClusterRoles included) and indexes the
// bindings of s by the subjects they name. s is not modified and not retained
// beyond the rule slices the Index hands out.
func NewIndex(s Snapshot) *Index {
	clusterRoles := resolveClusterRoles(s.ClusterRoles)
	roles := make(map[string][]rbacv1.PolicyRule, len(s.Roles))
	for i := range s.Roles {
		r := &s.Roles[i]
		roles[r.Namespace+"/"+r.Name] = copyRules(r.Rules)
	}

	ix := &Index{bySubject: map[string][]int{}}
	type pending struct {
		b              binding
		subjects       []rbacv1.Subject
		clusterDefault bool
	}
	all := make([]*pending, 0, len(s.ClusterRoleBindings)+len(s.RoleBindings))
	lookup := func(namespace string, ref rbacv1.RoleRef) ([]rbacv1.PolicyRule, bool) {
		switch ref.Kind {
		case "ClusterRole":
			rules, ok := clusterRoles[ref.Name]
			return rules, ok
		case "Role":
			if namespace == "" {
				return nil, false // a ClusterRoleBinding cannot refer to a Role
			}
			rules, ok := roles[namespace+"/"+ref.Name]
			return rules, ok
		}
		return nil, false
	}
	for i := range s.ClusterRoleBindings {
		crb := &s.ClusterRoleBindings[i]
		rules, ok := lookup("", crb.RoleRef)
		all = append(all, &pending{b: binding{
			ref:     BindingRef{Kind: KindClusterRoleBinding, Name: crb.Name, RoleKind: crb.RoleRef.Kind, RoleName: crb.RoleRef.Name},
			rules:   rules,
			missing: !ok,
		}, subjects: crb.Subjects, clusterDefault: isClusterDefault(crb.Labels)})
	}
	for i := range s.RoleBindings {
		rb := &s.RoleBindings[i]
		rules, ok := lookup(rb.Namespace, rb.RoleRef)
		all = append(all, &pending{b: binding{
			ref:     BindingRef{Kind: KindRoleBinding, Namespace: rb.Namespace, Name: rb.Name, RoleKind: rb.RoleRef.Kind, RoleName: rb.RoleRef.Name},
			rules:   rules,
			missing: !ok,
		}, subjects: rb.Subjects, clusterDefault: isClusterDefault(rb.Labels)})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].b.ref.Less(all[j].b.ref) })

	ix.bindings = make([]binding, 0, len(all))
	seen := map[v1alpha1.Subject]bool{}
	for i, p := range all {
		b := p.b
		for _, sub := range p.subjects {
			if sub.Kind == rbacv1.GroupKind && (baselineGroups[sub.Name] || p.clusterDefault && sub.Name == serviceaccount.AllServiceAccountsGroup) {
				b.baseline = true
			}
		}
		ix.bindings = append(ix.bindings, b)
		for _, sub := range p.subjects {
			key, subject, ok := subjectKey(sub, b.ref.Namespace)
			if !ok {
				continue
			}
			if list := ix.bySubject[key]; len(list) == 0 || list[len(list)-1] != i {
				ix.bySubject[key] = append(list, i)
			}
			if !seen[subject] {
				seen[subject] = true
				ix.subjects = append(ix.subjects, subject)
			}
		}
	}
	sort.Slice(ix.subjects, func(i, j int) bool { return subjectLess(ix.subjects[i], ix.subjects[j]) })
	return ix
}

// subjectKey maps a binding subject to its index key and to the report
// subject it names. A ServiceAccount subject without a namespace means the
// binding's namespace; in a ClusterRoleBinding it names nothing.
func subjectKey(s rbacv1.Subject, bindingNamespace string) (string, v1alpha1.Subject, bool) {
	switch s.Kind {
	case rbacv1.UserKind:
		return userKey(s.Name), v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: s.Name}, s.Name != ""
	case rbacv1.GroupKind:
		return groupKey(s.Name), v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: s.Name}, s.Name != ""
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" || s.Name == "" {
			return "", v1alpha1.Subject{}, false
		}
		return saKey(ns, s.Name), v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: s.Name}, true
	}
	return "", v1alpha1.Subject{}, false
}

func subjectLess(a, b v1alpha1.Subject) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Subjects returns every ServiceAccount, User and Group that some binding
// names, sorted by kind, namespace and name, so that subjects with bindings
// but no observed traffic (dormant ServiceAccounts) can get a report too.
// Which of them deserve a report (system users, opt-in groups) is the
// caller's decision. The slice is shared: do not modify it.
func (ix *Index) Subjects() []v1alpha1.Subject { return ix.subjects }

// Grants returns the rules subject holds, in a deterministic order (by
// binding, then in the order the role lists them). groups are the groups seen
// in the subject's audit events; the implicit groups are added here: every
// authenticated caller is in system:authenticated (system:anonymous in
// system:unauthenticated instead), a ServiceAccount also in
// system:serviceaccounts and system:serviceaccounts:<namespace>.
//
// For a Group subject the grants are those of bindings naming the group,
// plus the baseline grants of system:authenticated that every member holds.
// Bindings to roles that do not exist grant nothing; MissingRoles lists them.
func (ix *Index) Grants(subject v1alpha1.Subject, groups []string) []Grant {
	var out []Grant
	for _, i := range ix.matching(subject, groups) {
		b := &ix.bindings[i]
		if b.missing {
			continue
		}
		for _, rule := range b.rules {
			out = append(out, Grant{Rule: rule, Namespace: b.ref.Namespace, Binding: b.ref, Baseline: b.baseline})
		}
	}
	return out
}

// MissingRoles returns the bindings that apply to subject but refer to a
// Role or ClusterRole that does not exist (they grant nothing until it is
// created), sorted.
func (ix *Index) MissingRoles(subject v1alpha1.Subject, groups []string) []BindingRef {
	var out []BindingRef
	for _, i := range ix.matching(subject, groups) {
		if ix.bindings[i].missing {
			out = append(out, ix.bindings[i].ref)
		}
	}
	return out
}

// matching returns the positions of the bindings that apply to subject,
// ascending (so in binding order), without duplicates.
func (ix *Index) matching(subject v1alpha1.Subject, groups []string) []int {
	keys := subjectKeys(subject, groups)
	var hits []int
	for _, k := range keys {
		hits = append(hits, ix.bySubject[k]...)
	}
	slices.Sort(hits)
	return slices.Compact(hits)
}

// subjectKeys lists the binding-subject keys that apply to subject: its
// user name (a ServiceAccount's is system:serviceaccount:<ns>:<name>, which
// a User binding subject may name too), its ServiceAccount identity, and
// every group it is in, explicit or implicit.
func subjectKeys(subject v1alpha1.Subject, groups []string) []string {
	var keys []string
	addGroups := func(gs ...string) {
		for _, g := range gs {
			keys = append(keys, groupKey(g))
		}
	}
	switch subject.Kind {
	case v1alpha1.SubjectKindServiceAccount:
		keys = append(keys, saKey(subject.Namespace, subject.Name),
			userKey(serviceaccount.MakeUsername(subject.Namespace, subject.Name)))
		addGroups(serviceaccount.MakeGroupNames(subject.Namespace)...)
		addGroups(user.AllAuthenticated)
	case v1alpha1.SubjectKindUser:
		keys = append(keys, userKey(subject.Name))
		// A username of ServiceAccount form is the ServiceAccount itself.
		if ns, name, err := serviceaccount.SplitUsername(subject.Name); err == nil {
			keys = append(keys, saKey(ns, name))
			addGroups(serviceaccount.MakeGroupNames(ns)...)
		}
		if subject.Name == user.Anonymous {
			addGroups(user.AllUnauthenticated)
		} else {
			addGroups(user.AllAuthenticated)
		}
	case v1alpha1.SubjectKindGroup:
		addGroups(subject.Name)
		if subject.Name != user.AllUnauthenticated {
			addGroups(user.AllAuthenticated)
		}
		return dedupe(keys) // a group report has no member's own groups
	}
	addGroups(groups...)
	return dedupe(keys)
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func copyRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	if rules == nil {
		return nil
	}
	out := make([]rbacv1.PolicyRule, len(rules))
	for i := range rules {
		rules[i].DeepCopyInto(&out[i])
	}
	return out
}

// ruleKey identifies a rule by value, for removing duplicates.
func ruleKey(r rbacv1.PolicyRule) string {
	var b strings.Builder
	for _, part := range [][]string{r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs, r.Verbs} {
		for _, s := range part {
			b.WriteString(s)
			b.WriteByte(0)
		}
		b.WriteByte(1)
	}
	return b.String()
}

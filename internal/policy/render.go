package policy

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
)

const (
	// CreatedByLabel marks generated objects so they can be listed and
	// pruned together.
	CreatedByLabel = "app.kubernetes.io/created-by"
	// SubjectAnnotation tells a reviewer, in plain text, whom an object is for:
	// the object name only carries a slug.
	SubjectAnnotation = "audicia.io/subject"
)

// Build computes the suggested policy for the subject's observed rules and
// renders its manifest, the YAML of Objects(subject, sp).
func Build(subject v1alpha1.Subject, rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) v1alpha1.SuggestedPolicy {
	sp := Suggest(rules, s)
	sp.Manifest = render(func(b []byte) []byte { return AppendManifest(b, subject, sp) })
	return sp
}

// AppendManifest appends the manifest of the subject's suggested policy, the
// YAML of Objects(subject, sp), to b: nothing when the policy has no rules.
// It renders without building the objects: they differ only in their kind,
// namespace and rules, so what they share is rendered once per subject (or
// once for all) instead of being copied into maps and quoted again for each
// namespace. An analysis renders tens of thousands of them.
func AppendManifest(b []byte, subject v1alpha1.Subject, sp v1alpha1.SuggestedPolicy) []byte {
	hasRoles := slices.ContainsFunc(sp.NamespaceRules, func(nr v1alpha1.NamespaceRules) bool { return len(nr.Rules) > 0 })
	if len(sp.ClusterRules) == 0 && !hasRoles {
		return b
	}
	clusterRoles, roles := renderRoleYAML(subject, len(sp.ClusterRules) > 0, hasRoles)
	if len(sp.ClusterRules) > 0 {
		b = clusterRoles.append(b, "", sp.ClusterRules)
	}
	for _, nr := range sp.NamespaceRules {
		if len(nr.Rules) > 0 {
			b = roles.append(b, nr.Namespace, nr.Rules)
		}
	}
	return b
}

// roleKind is a kind of role and the kind of its binding, with the type
// lines that start their documents.
type roleKind struct {
	role, roleType, bindingType string
}

var (
	clusterRoleKind    = newRoleKind("ClusterRole", "ClusterRoleBinding")
	namespacedRoleKind = newRoleKind("Role", "RoleBinding")
)

func newRoleKind(role, binding string) roleKind {
	return roleKind{role: role, roleType: string(appendTypeMeta(nil, role)), bindingType: string(appendTypeMeta(nil, binding))}
}

// roleYAML is the YAML a subject's roles of one kind and their bindings
// share: all but the namespace and the rules.
type roleYAML struct {
	*roleKind
	metadata, bindingBody string
}

// renderRoleYAML renders the shared YAML of the subject's ClusterRole and
// Roles, those wanted, into one string, which they slice.
func renderRoleYAML(subject v1alpha1.Subject, clusterRole, roles bool) (cluster, namespaced roleYAML) {
	name := ObjectName(subject)
	meta := objectMeta(name, subject.String(), "")
	subjects := bindingSubjects(subject)
	// Room for the usual parts, on the stack.
	b := appendMetadata(make([]byte, 0, 1024), &meta)
	i := len(b)
	if clusterRole {
		b = appendBinding(b, roleRef(clusterRoleKind.role, name), subjects)
	}
	j := len(b)
	if roles {
		b = appendBinding(b, roleRef(namespacedRoleKind.role, name), subjects)
	}
	all := string(b)
	return roleYAML{&clusterRoleKind, all[:i], all[i:j]}, roleYAML{&namespacedRoleKind, all[:i], all[j:]}
}

// append appends a role and its binding, after the documents so far.
func (r *roleYAML) append(b []byte, namespace string, rules []rbacv1.PolicyRule) []byte {
	if len(b) > 0 {
		b = append(b, "---\n"...)
	}
	b = append(b, r.roleType...)
	b = append(b, r.metadata...)
	b = appendRules(appendNamespace(b, namespace), rules)
	b = append(b, "---\n"...)
	b = append(b, r.bindingType...)
	b = append(b, r.metadata...)
	b = appendNamespace(b, namespace)
	return append(b, r.bindingBody...)
}

// Objects returns the RBAC objects that grant sp to the subject: the
// ClusterRole and its ClusterRoleBinding when there are cluster rules, then a
// Role and RoleBinding per namespace, in sp's (sorted) namespace order.
func Objects(subject v1alpha1.Subject, sp v1alpha1.SuggestedPolicy) []client.Object {
	// Every object carries the same name and annotation: work them out once,
	// not per namespace.
	name, shown := ObjectName(subject), subject.String()
	objs := make([]client.Object, 0, 2*(len(sp.NamespaceRules)+1))
	if len(sp.ClusterRules) > 0 {
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: typeMeta("ClusterRole"), ObjectMeta: objectMeta(name, shown, ""), Rules: copyRules(sp.ClusterRules)},
			&rbacv1.ClusterRoleBinding{
				TypeMeta: typeMeta("ClusterRoleBinding"), ObjectMeta: objectMeta(name, shown, ""),
				Subjects: bindingSubjects(subject), RoleRef: roleRef("ClusterRole", name),
			})
	}
	for _, nr := range sp.NamespaceRules {
		if len(nr.Rules) == 0 {
			continue
		}
		objs = append(objs,
			&rbacv1.Role{TypeMeta: typeMeta("Role"), ObjectMeta: objectMeta(name, shown, nr.Namespace), Rules: copyRules(nr.Rules)},
			&rbacv1.RoleBinding{
				TypeMeta: typeMeta("RoleBinding"), ObjectMeta: objectMeta(name, shown, nr.Namespace),
				Subjects: bindingSubjects(subject), RoleRef: roleRef("Role", name),
			})
	}
	return objs
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// objectMeta is the metadata of a generated object; each object gets its own
// maps, so that changing one changes no other.
func objectMeta(name, subject, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   namespace,
		Labels:      map[string]string{CreatedByLabel: "audicia"},
		Annotations: map[string]string{SubjectAnnotation: subject},
	}
}

func roleRef(kind, name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
}

// bindingSubjects names the subject the way RBAC expects: ServiceAccounts by
// namespace and no API group, Users and Groups in the RBAC API group.
func bindingSubjects(s v1alpha1.Subject) []rbacv1.Subject {
	if s.Kind == v1alpha1.SubjectKindServiceAccount {
		return []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: s.Name, Namespace: s.Namespace}}
	}
	return []rbacv1.Subject{{Kind: string(s.Kind), APIGroup: rbacv1.GroupName, Name: s.Name}}
}

// copyRules keeps the objects independent of the SuggestedPolicy they came
// from, which callers store in a report.
func copyRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i := range rules {
		rules[i].DeepCopyInto(&out[i])
	}
	return out
}

// Render writes the objects as multi-document YAML for `kubectl apply -f -`.
// Only what a reviewer should see is written (no server-set fields), with
// keys in sorted order, so equal objects give identical bytes.
func Render(objs []client.Object) (string, error) {
	var err error
	out := render(func(b []byte) []byte {
		for i, obj := range objs {
			if i > 0 {
				b = append(b, "---\n"...)
			}
			if b, err = appendObject(b, obj); err != nil {
				break
			}
		}
		return b
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

package policy

import (
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
// renders its manifest.
func Build(subject v1alpha1.Subject, rules []v1alpha1.ObservedRule, s v1alpha1.PolicyStrategy) (v1alpha1.SuggestedPolicy, error) {
	sp := Suggest(rules, s)
	manifest, err := Render(Objects(subject, sp))
	if err != nil {
		return v1alpha1.SuggestedPolicy{}, err
	}
	sp.Manifest = manifest
	return sp, nil
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
	return metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: kind}
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
	var w yamlWriter
	w.b.Grow(sizeHint(objs))
	for i, obj := range objs {
		if i > 0 {
			w.b.WriteString("---\n")
		}
		if err := w.object(obj); err != nil {
			return "", err
		}
	}
	return w.b.String(), nil
}

// sizeHint is about the size of the objects as YAML (a little more, measured
// on generated logs), so that a manifest is allocated once instead of grown
// by copying.
func sizeHint(objs []client.Object) int {
	n := 0
	for _, obj := range objs {
		n += 256
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			n += 192 * len(o.Rules)
		case *rbacv1.Role:
			n += 192 * len(o.Rules)
		}
	}
	return n
}

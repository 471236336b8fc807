package policytest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/audicia/audicia/api/v1alpha1"
)

// Allows reports whether objs let the subject make the request r describes.
// Like the RBAC authorizer, it takes ClusterRoleBindings everywhere and
// RoleBindings only in r.Namespace, and honours nonResourceURLs only through
// ClusterRoleBindings. With r.ResourceNames set, every name must be allowed;
// without, only rules that do not restrict names count.
func Allows(objs []client.Object, subject v1alpha1.Subject, r v1alpha1.ObservedRule) bool {
	granted := grantedRules(objs, subject, r.Namespace, r.NonResourceURL != "")
	covered, _ := validation.Covers(granted, []rbacv1.PolicyRule{Request(r)})
	return covered
}

// Request is the rule an observed request needs, as Covers expects it.
func Request(r v1alpha1.ObservedRule) rbacv1.PolicyRule {
	if r.NonResourceURL != "" {
		return rbacv1.PolicyRule{NonResourceURLs: []string{r.NonResourceURL}, Verbs: []string{r.Verb}}
	}
	return rbacv1.PolicyRule{
		APIGroups:     []string{r.APIGroup},
		Resources:     []string{r.Resource},
		ResourceNames: r.ResourceNames,
		Verbs:         []string{r.Verb},
	}
}

// grantedRules collects the rules bound to the subject that apply in namespace
// ("" for cluster scope).
func grantedRules(objs []client.Object, subject v1alpha1.Subject, namespace string, nonResource bool) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, obj := range objs {
		switch b := obj.(type) {
		case *rbacv1.ClusterRoleBinding:
			if bound(b.Subjects, subject) {
				rules = append(rules, roleRules(objs, b.RoleRef, "")...)
			}
		case *rbacv1.RoleBinding:
			if !nonResource && namespace != "" && b.Namespace == namespace && bound(b.Subjects, subject) {
				rules = append(rules, roleRules(objs, b.RoleRef, namespace)...)
			}
		}
	}
	return rules
}

// roleRules returns the rules of the Role (in namespace) or ClusterRole ref
// points to; a missing role grants nothing, as in a cluster.
func roleRules(objs []client.Object, ref rbacv1.RoleRef, namespace string) []rbacv1.PolicyRule {
	for _, obj := range objs {
		switch role := obj.(type) {
		case *rbacv1.ClusterRole:
			if ref.Kind == "ClusterRole" && role.Name == ref.Name {
				return role.Rules
			}
		case *rbacv1.Role:
			if ref.Kind == "Role" && role.Name == ref.Name && role.Namespace == namespace {
				return role.Rules
			}
		}
	}
	return nil
}

func bound(subjects []rbacv1.Subject, s v1alpha1.Subject) bool {
	for _, b := range subjects {
		if b.Kind != string(s.Kind) || b.Name != s.Name {
			continue
		}
		if s.Kind == v1alpha1.SubjectKindServiceAccount {
			if b.Namespace == s.Namespace {
				return true
			}
			continue
		}
		if b.APIGroup == rbacv1.GroupName {
			return true
		}
	}
	return false
}

// ParseManifest decodes multi-document YAML of rbac.authorization.k8s.io/v1
// objects into typed objects, strictly: an unknown field or kind is an error,
// so a manifest the API server would reject does not pass silently.
func ParseManifest(manifest string) ([]client.Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []client.Object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(string(doc)) == "" {
			continue
		}
		obj, err := decode(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		objs = append(objs, obj)
	}
}

func decode(doc []byte) (client.Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	if head.APIVersion != rbacv1.SchemeGroupVersion.String() {
		return nil, fmt.Errorf("unexpected apiVersion %q", head.APIVersion)
	}
	var obj client.Object
	switch head.Kind {
	case "Role":
		obj = &rbacv1.Role{}
	case "ClusterRole":
		obj = &rbacv1.ClusterRole{}
	case "RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "ClusterRoleBinding":
		obj = &rbacv1.ClusterRoleBinding{}
	default:
		return nil, fmt.Errorf("unexpected kind %q", head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", head.Kind, err)
	}
	return obj, nil
}

package policytest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy/policytest"
)

var (
	web   = v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}
	alice = v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice"}
)

func meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

func ref(kind, name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
}

var saSubject = []rbacv1.Subject{{Kind: "ServiceAccount", Name: "web", Namespace: "shop"}}

func fixture() []client.Object {
	return []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: meta("cluster", ""), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}},
			{NonResourceURLs: []string{"/healthz", "/logs/*"}, Verbs: []string{"get"}},
		}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: meta("cluster", ""), RoleRef: ref("ClusterRole", "cluster"), Subjects: saSubject},
		&rbacv1.Role{ObjectMeta: meta("ns", "shop"), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db"}, Verbs: []string{"get"}},
			{APIGroups: []string{"apps"}, Resources: []string{"*/scale"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: meta("ns", "shop"), RoleRef: ref("Role", "ns"), Subjects: saSubject},
		&rbacv1.ClusterRole{ObjectMeta: meta("reader", ""), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: meta("reader", "other"), RoleRef: ref("ClusterRole", "reader"), Subjects: saSubject},
		// A Role of the same name in another namespace must not leak.
		&rbacv1.Role{ObjectMeta: meta("ns", "elsewhere"), Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
		}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: meta("alice", ""), RoleRef: ref("ClusterRole", "reader"),
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}, // no apiGroup: not a valid User subject
	}
}

func TestAllows(t *testing.T) {
	r := func(group, resource, namespace, verb string, names ...string) v1alpha1.ObservedRule {
		return v1alpha1.ObservedRule{APIGroup: group, Resource: resource, Namespace: namespace, Verb: verb, ResourceNames: names}
	}
	u := func(path, verb string) v1alpha1.ObservedRule {
		return v1alpha1.ObservedRule{NonResourceURL: path, Verb: verb}
	}
	tests := []struct {
		name    string
		subject v1alpha1.Subject
		request v1alpha1.ObservedRule
		want    bool
	}{
		{"cluster role everywhere", web, r("", "nodes", "", "get"), true},
		{"cluster role in a namespace", web, r("", "nodes", "any", "get"), true},
		{"other verb", web, r("", "nodes", "", "list"), false},
		{"url", web, u("/healthz", "get"), true},
		{"url prefix", web, u("/logs/kube.log", "get"), true},
		{"url not granted", web, u("/livez", "get"), false},
		{"role url is ignored", web, u("/metrics", "get"), false},
		{"named secret", web, r("", "secrets", "shop", "get", "db"), true},
		{"other secret", web, r("", "secrets", "shop", "get", "api"), false},
		{"any secret", web, r("", "secrets", "shop", "get"), false},
		{"star subresource and verb", web, r("apps", "deployments/scale", "shop", "patch"), true},
		{"role in another namespace", web, r("", "secrets", "other", "get", "db"), false},
		{"rolebinding to clusterrole", web, r("", "pods", "other", "list"), true},
		{"rolebinding to clusterrole only in its namespace", web, r("", "pods", "shop", "list"), false},
		{"rolebinding to clusterrole not cluster-wide", web, r("", "pods", "", "list"), false},
		{"same-name role elsewhere", web, r("", "configmaps", "shop", "get"), false},
		{"other service account", v1alpha1.Subject{Kind: "ServiceAccount", Namespace: "other", Name: "web"}, r("", "nodes", "", "get"), false},
		{"user with the name of the service account", v1alpha1.Subject{Kind: "User", Name: "web"}, r("", "nodes", "", "get"), false},
		{"user subject without apiGroup", alice, r("", "pods", "", "list"), false},
	}
	objs := fixture()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, policytest.Allows(objs, tt.subject, tt.request))
		})
	}
}

func TestParseManifest(t *testing.T) {
	manifest := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: c
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: b
  namespace: shop
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
- {kind: ServiceAccount, name: web, namespace: shop}
---
`
	objs, err := policytest.ParseManifest(manifest)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	cr := objs[0].(*rbacv1.ClusterRole)
	assert.Equal(t, "c", cr.Name)
	assert.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}}}, cr.Rules)
	rb := objs[1].(*rbacv1.RoleBinding)
	assert.Equal(t, "shop", rb.Namespace)
	assert.Equal(t, saSubject, rb.Subjects)

	empty, err := policytest.ParseManifest("")
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func TestParseManifestRejects(t *testing.T) {
	for name, manifest := range map[string]string{
		"other kind":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"other version": "apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: Role\nmetadata: {name: x}\n",
		"unknown field": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: x}\nrulez: []\n",
		"not yaml":      "apiVersion: [\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := policytest.ParseManifest(manifest)
			assert.Error(t, err)
		})
	}
}

package policy_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
	"github.com/audicia/audicia/internal/policy/policytest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		subject  v1alpha1.Subject
		strategy v1alpha1.PolicyStrategy
		observed []v1alpha1.ObservedRule
	}{{
		name:    "serviceaccount-strict",
		subject: sa("shop", "web"),
		observed: []v1alpha1.ObservedRule{
			obs("", "pods", "shop", "get"), obs("", "pods", "shop", "list"), obs("", "pods", "shop", "watch"),
			obs("", "configmaps", "shop", "get"), obs("", "configmaps", "shop", "list"), obs("", "configmaps", "shop", "watch"),
			obs("", "pods/exec", "shop", "create"), obs("", "pods/log", "shop", "get"),
			obs("apps", "deployments/scale", "shop", "update"), obs("apps", "deployments/scale", "shop", "patch"),
			obs("", "secrets", "payments", "get"),
			obs("", "pods", "", "list"), obs("", "nodes", "", "list"), obs("", "namespaces", "", "get"),
			url("/healthz", "get"), url("/metrics", "get"),
		},
	}, {
		name:     "user-clusterscope-explicit",
		subject:  user("alice@corp.com"),
		strategy: v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed, ResourceNames: v1alpha1.ResourceNamesExplicit},
		observed: []v1alpha1.ObservedRule{
			obs("", "secrets", "dev", "get", "db-creds"), obs("", "secrets", "prod", "get", "api-key"),
			obs("", "configmaps", "dev", "get", "settings"), obs("", "configmaps", "dev", "update", "settings"),
			obs("", "pods", "prod", "list"), obs("", "pods/exec", "dev", "create", "web-0"),
			obs("apps", "deployments", "dev", "patch", "web"), obs("apps", "deployments", "prod", "patch"),
		},
	}, {
		name:     "group-safe-wildcards",
		subject:  group("dev-team"),
		strategy: v1alpha1.PolicyStrategy{Wildcards: v1alpha1.WildcardsSafe},
		observed: concat(
			every("", "pods", "dev", all8),
			every("apps", "deployments", "dev", all8),
			every("", "pods/status", "dev", []string{"get", "update", "patch"}),
			every("rbac.authorization.k8s.io", "roles", "dev", all8),
			every("", "configmaps", "dev", []string{"get", "list"}),
			[]v1alpha1.ObservedRule{obs("", "pods/log", "dev", "get"), obs("", "namespaces", "", "list")},
		),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := policy.Build(tt.subject, tt.observed, tt.strategy)
			assertGolden(t, tt.name, sp.Manifest)
			assertAllowsAll(t, tt.subject, tt.observed, sp.Manifest, policy.WithDefaults(tt.strategy))
		})
	}
}

func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "create it with: go test ./internal/policy -update")
	assert.Equal(t, string(want), got, "rendered YAML differs from %s (regenerate with -update if intended)", path)
}

// assertAllowsAll checks that the manifest, read back as the API server would
// read it, allows every observed request.
func assertAllowsAll(t *testing.T, subject v1alpha1.Subject, observed []v1alpha1.ObservedRule, manifest string, s v1alpha1.PolicyStrategy) {
	t.Helper()
	objs, err := policytest.ParseManifest(manifest)
	require.NoError(t, err)
	for _, r := range observed {
		if s.ResourceNames != v1alpha1.ResourceNamesExplicit {
			r.ResourceNames = nil
		}
		assert.True(t, policytest.Allows(objs, subject, r), "not allowed: %+v", r)
	}
}

func TestObjects(t *testing.T) {
	sp := v1alpha1.SuggestedPolicy{
		ClusterRules: []rbacv1.PolicyRule{rule("", res("nodes"), "get")},
		NamespaceRules: []v1alpha1.NamespaceRules{
			ns("a", rule("", res("pods"), "get")),
			ns("b", rule("", res("pods"), "list")),
		},
	}
	subject := sa("shop", "web")
	objs := policy.Objects(subject, sp)
	require.Len(t, objs, 6)

	name := policy.ObjectName(subject)
	wantKinds := []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Role", "RoleBinding"}
	wantNamespaces := []string{"", "", "a", "a", "b", "b"}
	for i, obj := range objs {
		gvk := obj.GetObjectKind().GroupVersionKind()
		assert.Equal(t, wantKinds[i], gvk.Kind)
		assert.Equal(t, "rbac.authorization.k8s.io/v1", gvk.GroupVersion().String())
		assert.Equal(t, name, obj.GetName())
		assert.Equal(t, wantNamespaces[i], obj.GetNamespace())
		assert.Equal(t, "audicia", obj.GetLabels()["app.kubernetes.io/created-by"])
		assert.Equal(t, "ServiceAccount shop/web", obj.GetAnnotations()["audicia.io/subject"])
	}

	crb := objs[1].(*rbacv1.ClusterRoleBinding)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}, crb.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "web", Namespace: "shop"}}, crb.Subjects)
	rb := objs[5].(*rbacv1.RoleBinding)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}, rb.RoleRef)
	assert.Equal(t, sp.NamespaceRules[1].Rules, objs[4].(*rbacv1.Role).Rules)

	objs[0].(*rbacv1.ClusterRole).Rules[0].Verbs[0] = "delete"
	assert.Equal(t, "get", sp.ClusterRules[0].Verbs[0], "objects must not share rules with the policy")
}

func TestObjectsBindingSubjects(t *testing.T) {
	sp := v1alpha1.SuggestedPolicy{ClusterRules: []rbacv1.PolicyRule{rule("", res("nodes"), "get")}}
	for _, s := range []v1alpha1.Subject{user("alice@corp.com"), group("devs")} {
		objs := policy.Objects(s, sp)
		require.Len(t, objs, 2)
		want := []rbacv1.Subject{{Kind: string(s.Kind), APIGroup: "rbac.authorization.k8s.io", Name: s.Name}}
		assert.Equal(t, want, objs[1].(*rbacv1.ClusterRoleBinding).Subjects)
	}
}

func TestObjectsOnlyNamespaced(t *testing.T) {
	sp := v1alpha1.SuggestedPolicy{NamespaceRules: []v1alpha1.NamespaceRules{ns("a", rule("", res("pods"), "get")), ns("empty")}}
	objs := policy.Objects(user("bob"), sp)
	require.Len(t, objs, 2, "no ClusterRole without cluster rules, no Role without rules")
	assert.IsType(t, &rbacv1.Role{}, objs[0])
	assert.IsType(t, &rbacv1.RoleBinding{}, objs[1])
}

func TestRender(t *testing.T) {
	got, err := policy.Render(nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	sp := policy.Build(sa("shop", "web"), []v1alpha1.ObservedRule{obs("", "pods", "shop", "get"), obs("", "nodes", "", "get")}, v1alpha1.PolicyStrategy{})
	docs := strings.Split(sp.Manifest, "---\n")
	require.Len(t, docs, 4)
	for _, doc := range docs {
		assert.True(t, strings.HasPrefix(doc, "apiVersion: rbac.authorization.k8s.io/v1\n"), doc)
		assert.True(t, strings.HasSuffix(doc, "\n"))
	}
	assert.NotContains(t, sp.Manifest, "creationTimestamp")
	assert.NotContains(t, sp.Manifest, "status")

	objs, err := policytest.ParseManifest(sp.Manifest)
	require.NoError(t, err)
	assert.Equal(t, policy.Objects(sa("shop", "web"), sp), objs, "the manifest must read back as the objects")
}

func TestRenderDropsServerFields(t *testing.T) {
	role := &rbacv1.Role{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "x", Namespace: "ns", CreationTimestamp: metav1.Now(), ResourceVersion: "7", UID: "u", Generation: 2,
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
	}
	got, err := policy.Render([]client.Object{role})
	require.NoError(t, err)
	assert.Equal(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: x\n  namespace: ns\nrules: []\n", got)

	_, err = policy.Render([]client.Object{nil})
	assert.Error(t, err)
	_, err = policy.Render([]client.Object{&corev1.ConfigMap{}})
	assert.ErrorContains(t, err, "not an RBAC")
}

// TestRenderQuotesWhatYAMLWouldMisread renders values that YAML readers turn
// into something else unless quoted, and reads them back.
func TestRenderQuotesWhatYAMLWouldMisread(t *testing.T) {
	values := []string{"", "*", "true", "False", "yes", "off", "null", "~", "1.5", "0x1F", "1_000", "1:30", "-x", "@at",
		"a b", "a: b", "x #y", "#x", "'q'", `back\slash`, "é", "tab\there", "line\nbreak", "[x]", "{x}", "a,b", "system:serviceaccount:a:b",
		"alice@corp.com", "/healthz", "/apis/*", "? x", "!x", "%x", "&x", "|x", ">x", "`x`"}
	role := &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", Annotations: map[string]string{}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: values}},
	}
	for i, v := range values {
		role.Annotations[fmt.Sprintf("k%02d", i)] = v
	}
	out, err := policy.Render([]client.Object{role})
	require.NoError(t, err)
	objs, err := policytest.ParseManifest(out)
	require.NoError(t, err, out)
	require.Len(t, objs, 1)
	back := objs[0].(*rbacv1.Role)
	assert.Equal(t, values, back.Rules[0].ResourceNames, out)
	assert.Equal(t, role.Annotations, back.Annotations)
}

func TestBuildEmpty(t *testing.T) {
	sp := policy.Build(user("bob"), nil, v1alpha1.PolicyStrategy{})
	assert.Equal(t, v1alpha1.SuggestedPolicy{}, sp)
}

package cli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

func TestParseSubject(t *testing.T) {
	sa := func(ns, name string) v1alpha1.Subject {
		return v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}
	}
	user := func(name string) v1alpha1.Subject {
		return v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: name}
	}
	group := func(name string) v1alpha1.Subject {
		return v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: name}
	}
	for arg, want := range map[string]v1alpha1.Subject{
		"sa:shop:web":                    sa("shop", "web"),
		"SA:shop:web":                    sa("shop", "web"),
		"serviceaccount:shop:web":        sa("shop", "web"),
		"shop/web":                       sa("shop", "web"),
		"ServiceAccount/shop/web":        sa("shop", "web"),
		"system:serviceaccount:shop:web": sa("shop", "web"),
		"user:alice@example.com":         user("alice@example.com"),
		"User/alice@example.com":         user("alice@example.com"),
		"user:system:kube-scheduler":     user("system:kube-scheduler"),
		"user:oidc:https://idp/x":        user("oidc:https://idp/x"),
		"User/a/b":                       user("a/b"),
		"group:developers":               group("developers"),
		"Group/system:authenticated":     group("system:authenticated"),
	} {
		got, err := parseSubject(arg)
		if assert.NoError(t, err, arg) {
			assert.Equal(t, want, got, arg)
		}
		// What tables print reads back as the same subject.
		back, err := parseSubject(formatSubject(want))
		require.NoError(t, err)
		assert.Equal(t, want, back)
	}
	for _, arg := range []string{
		"", "web", "sa:", "sa:shop", "sa:shop:", "sa::web", "sa:shop:web:x", "shop/", "/web", "shop/web/x",
		"user:", "group:", "robot:x", "ServiceAccount/shop", "User/", "system:serviceaccount:shop",
	} {
		_, err := parseSubject(arg)
		if assert.Error(t, err, arg) {
			assert.Contains(t, err.Error(), "expected sa:NAMESPACE:NAME or NAMESPACE/NAME (a ServiceAccount), user:NAME or group:NAME")
		}
	}
}

func TestNearSubjects(t *testing.T) {
	var reports []v1alpha1.AudiciaPolicyReport
	for _, s := range []v1alpha1.Subject{
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "billing", Name: "web"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "billing", Name: "worker"},
		{Kind: v1alpha1.SubjectKindUser, Name: "dana@example.com"},
		{Kind: v1alpha1.SubjectKindUser, Name: "dana@example.com"}, // a second source
	} {
		reports = append(reports, v1alpha1.AudiciaPolicyReport{Spec: v1alpha1.AudiciaPolicyReportSpec{Subject: s}})
	}
	sa := v1alpha1.SubjectKindServiceAccount
	assert.Equal(t, []string{"ServiceAccount/shop/web", "ServiceAccount/billing/web"},
		nearSubjects(v1alpha1.Subject{Kind: sa, Namespace: "shop", Name: "wbe"}, reports))
	assert.Equal(t, []string{"ServiceAccount/billing/web", "ServiceAccount/shop/web"},
		nearSubjects(v1alpha1.Subject{Kind: sa, Namespace: "biling", Name: "web"}, reports))
	assert.Equal(t, []string{"User/dana@example.com"}, nearSubjects(v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "dana"}, reports))
	assert.Empty(t, nearSubjects(v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "zoe-the-auditor"}, reports))
	assert.Equal(t, 3, levenshtein("kitten", "sitting"))
	assert.Equal(t, 0, levenshtein("", ""))
	assert.Equal(t, 3, levenshtein("", "abc"))
}

func TestDisplayName(t *testing.T) {
	assert.Equal(t, "kubectl audicia", displayName("/usr/local/bin/kubectl-audicia"))
	assert.Equal(t, "kubectl audicia", displayName(`kubectl-audicia.exe`))
	assert.Equal(t, "audicia", displayName("./bin/audicia"))
	assert.Equal(t, "audicia", displayName("cli.test"))
}

// Without a reachable cluster, the error names the kubeconfig, the context
// and the server.
func TestNoClusterAccess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	kubeconfig := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://%s"}}]
users: [{name: me, user: {token: t}}]
contexts: [{name: gone-ctx, context: {cluster: gone, user: me}}]
current-context: gone-ctx
`, addr), 0o600))
	for _, args := range [][]string{
		{"get", "-A"},
		{"explain", "shop/web"},
		{"export", "--dir", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		cmd := NewRootCommand(&stdout, &stderr)
		cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
		err := cmd.Execute()
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), "no cluster access with kubeconfig "+kubeconfig+", context gone-ctx, server https://"+addr)
	}

	// No kubeconfig at all: say so rather than try localhost:8080.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	var stdout, stderr bytes.Buffer
	cmd := NewRootCommand(&stdout, &stderr)
	cmd.SetArgs([]string{"get"})
	err = cmd.Execute()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no cluster access: no kubeconfig found")
}

// report is a report of subject as tests of the table and explanation use it.
func testReport(subject v1alpha1.Subject, source string, rules ...v1alpha1.ObservedRule) v1alpha1.AudiciaPolicyReport {
	r := v1alpha1.AudiciaPolicyReport{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r-" + source},
		Spec:       v1alpha1.AudiciaPolicyReportSpec{Subject: subject, SourceRef: v1alpha1.SourceReference{Name: source}},
	}
	r.Status.ObservedRules = rules
	for _, o := range rules {
		r.Status.EventsObserved += o.Count
	}
	return r
}

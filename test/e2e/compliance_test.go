package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/test/cluster"
)

// compliant waits until the file source's report of sa is scored as want says.
func compliant(t *testing.T, sa string, timeout time.Duration, want func(*v1alpha1.Compliance) error) *v1alpha1.Compliance {
	t.Helper()
	var got *v1alpha1.Compliance
	waitFor(t, timeout, func() error {
		r := reportOf(t, fileSource, sa)
		if r == nil || r.Status.Compliance == nil {
			return fmt.Errorf("no scored report for %s yet", sa)
		}
		got = r.Status.Compliance
		return want(got)
	})
	return got
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		require.NoError(t, local.Client.Create(t.Context(), obj))
	}
}

func clusterRoleBinding(name, role, sa string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: sa}},
	}
}

// A ServiceAccount bound to cluster-admin that only gets pods holds nearly
// everything in excess; bound instead to exactly what it uses, it scores 100.
// The second score comes from the RBAC change alone, with no new request.
func TestClusterAdminForOneGetScoresRedUntilTheBindingShrinks(t *testing.T) {
	ctx := t.Context()
	sa := serviceAccount(t, "overgranted")
	create(t, clusterRoleBinding("e2e-overgranted", "cluster-admin", "overgranted"))
	waitFor(t, 10*time.Second, func() error {
		_, err := sa.CoreV1().Pods(namespace).Get(ctx, "none", metav1.GetOptions{})
		if err != nil && !strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("get pods as a cluster admin: %w", err)
		}
		return nil
	})
	c := compliant(t, "overgranted", 15*time.Second, func(c *v1alpha1.Compliance) error {
		if c.Severity != v1alpha1.SeverityRed || c.Score >= 5 {
			return fmt.Errorf("cluster-admin for one get pods scores %d %s", c.Score, c.Severity)
		}
		return nil
	})
	assert.True(t, slices.ContainsFunc(c.SensitiveExcess, func(s string) bool { return strings.HasPrefix(s, "secrets ") }),
		"secrets among the sensitive excess: %v", c.SensitiveExcess)
	assert.Contains(t, c.Bindings, v1alpha1.BindingReference{Kind: "ClusterRoleBinding", Name: "e2e-overgranted", RoleKind: "ClusterRole", RoleName: "cluster-admin"})

	changed := time.Now()
	require.NoError(t, local.Client.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-overgranted"}}))
	create(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "get-pods", Namespace: namespace},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "get-pods", Namespace: namespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "get-pods"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: "overgranted"}}})
	compliant(t, "overgranted", 10*time.Second, func(c *v1alpha1.Compliance) error {
		if c.Score != 100 || c.Severity != v1alpha1.SeverityGreen {
			return fmt.Errorf("bound to exactly what it uses, it scores %d %s", c.Score, c.Severity)
		}
		return nil
	})
	t.Logf("rescored %s after the binding changed", time.Since(changed).Round(100*time.Millisecond))
	waitFor(t, 10*time.Second, func() error {
		events, err := local.Kube.EventsV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=SeverityChanged"})
		if err != nil {
			return err
		}
		for _, e := range events.Items {
			if strings.Contains(e.Note, "overgranted") && strings.Contains(e.Note, "Red") && strings.Contains(e.Note, "-> Green") {
				return nil
			}
		}
		return fmt.Errorf("no SeverityChanged event Red -> Green for overgranted among %d", len(events.Items))
	})
}

// Permissions held through a group (the ServiceAccounts of a namespace) and
// through an aggregated ClusterRole, which no controller fills here, count.
func TestGroupBindingsAndAggregatedRolesCount(t *testing.T) {
	ctx := t.Context()
	sa := serviceAccount(t, "grouped")
	create(t,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "grouped", Namespace: namespace}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-aggregate"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"e2e.audicia.io/aggregate": "true"}}}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-aggregated-part", Labels: map[string]string{"e2e.audicia.io/aggregate": "true"}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"grouped"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-group", Namespace: namespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "e2e-aggregate"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:" + namespace}}},
	)
	// No controller manager runs here, so kube-apiserver itself does not
	// aggregate: grant the same rule directly to make the request succeed,
	// through a binding the report must list as well.
	create(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "grouped-direct", Namespace: namespace},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"grouped"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "grouped-direct", Namespace: namespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "grouped-direct"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: "grouped"}}})
	waitFor(t, 10*time.Second, func() error {
		_, err := sa.CoreV1().ConfigMaps(namespace).Get(ctx, "grouped", metav1.GetOptions{})
		return err
	})
	want := v1alpha1.BindingReference{Kind: "RoleBinding", Namespace: namespace, Name: "e2e-group", RoleKind: "ClusterRole", RoleName: "e2e-aggregate"}
	compliant(t, "grouped", 15*time.Second, func(c *v1alpha1.Compliance) error {
		if !slices.Contains(c.Bindings, want) || c.Score != 100 {
			return fmt.Errorf("score %d with bindings %v; want 100 with %v", c.Score, c.Bindings, want)
		}
		return nil
	})
}

// Audicia's findings appear beside every other scanner's.
// A ServiceAccount that holds permissions and never calls gets a report too:
// everything it holds is excess.
func TestPolicyReportsListAudiciaResultsDormantAccountsIncluded(t *testing.T) {
	serviceAccount(t, "dormant")
	create(t, clusterRoleBinding("e2e-dormant", "view", "dormant"))
	sa := serviceAccount(t, "reported")
	_, _ = sa.CoreV1().Pods(namespace).List(t.Context(), metav1.ListOptions{})
	compliant(t, "dormant", 15*time.Second, func(c *v1alpha1.Compliance) error {
		if c.Used != 0 || c.Excess != c.Granted || c.Granted == 0 {
			return fmt.Errorf("a dormant account: %d of %d granted used, %d excess", c.Used, c.Granted, c.Excess)
		}
		return nil
	})
	waitFor(t, 15*time.Second, func() error {
		out := kubectl(t, "", "get", "policyreports", "-A", "-o", "custom-columns=NS:.metadata.namespace,NAME:.metadata.name,SOURCE:.results[*].source,SUBJECT:.results[*].subjects[*].name")
		if !strings.Contains(out, namespace) || !strings.Contains(out, "audicia") || !strings.Contains(out, "reported") || !strings.Contains(out, "dormant") {
			return fmt.Errorf("kubectl get policyreports -A does not list the results for reported and dormant:\n%s", out)
		}
		return nil
	})
	t.Log(kubectl(t, "", "get", "policyreports", "-A"))
}

// The operator runs with the chart's ServiceAccount and RBAC: it reads the
// Secrets of its own namespace (its webhook's TLS) and no other.
func TestOperatorRunsWithTheChartsLeastPrivilege(t *testing.T) {
	ctx := t.Context()
	require.True(t, strings.HasPrefix(local.OperatorUser, "system:serviceaccount:"+cluster.OperatorNamespace+":"),
		"the operator acts as %s, not as the chart's ServiceAccount", local.OperatorUser)
	op, err := local.OperatorClient()
	require.NoError(t, err)
	_, err = op.CoreV1().Secrets(cluster.OperatorNamespace).Get(ctx, cluster.TLSSecret, metav1.GetOptions{})
	require.NoError(t, err, "its own namespace's TLS Secret")
	for _, ns := range []string{namespace, "kube-system", "default"} {
		_, err = op.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		assert.True(t, apierrors.IsForbidden(err), "listing Secrets in %s: %v", ns, err)
	}
	_, err = op.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "listing Secrets cluster-wide: %v", err)
	_, err = op.RbacV1().ClusterRoleBindings().Create(ctx, clusterRoleBinding("e2e-escalate", "cluster-admin", "app"), metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "writing RBAC: %v", err)
}

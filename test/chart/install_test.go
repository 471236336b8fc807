package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/testutil"
)

// A real kube-apiserver (envtest), started by the first test that needs it,
// with the chart's CRDs installed.
var api struct {
	once       sync.Once
	env        *envtest.Environment
	client     client.Client
	kubeconfig string
	dir        string
	err        error
}

func apiServer(t *testing.T) (client.Client, string) {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("this test needs kube-apiserver and etcd: run `make chart-test` or `make test`, which build them, " +
			"or export KUBEBUILDER_ASSETS=$(hack/control-plane.sh)")
	}
	api.once.Do(func() { api.err = startAPIServer() })
	require.NoError(t, api.err, "starting the control plane")
	return api.client, api.kubeconfig
}

func startAPIServer() error {
	api.env = &envtest.Environment{CRDDirectoryPaths: []string{chartDir + "/crds"}, ErrorIfCRDPathMissing: true}
	cfg, err := api.env.Start()
	if err != nil {
		return err
	}
	if api.client, err = client.New(cfg, client.Options{Scheme: testutil.Scheme()}); err != nil {
		return err
	}
	// helm acts as a cluster admin through a kubeconfig of its own.
	admin, err := api.env.AddUser(envtest.User{Name: "chart-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	if api.dir, err = os.MkdirTemp("", "audicia-chart-test-"); err != nil {
		return err
	}
	api.kubeconfig = filepath.Join(api.dir, "kubeconfig")
	return os.WriteFile(api.kubeconfig, kc, 0o600)
}

func stopAPIServer() {
	if api.env != nil {
		_ = api.env.Stop()
	}
	if api.dir != "" {
		_ = os.RemoveAll(api.dir)
	}
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// TestAPIServerAcceptsRenderedObjects creates every rendered object of every
// case on a real kube-apiserver as a server-side dry run, which validates it
// against the built-in types and the AudiciaSource CRD's schema. Objects of
// other projects' CRDs (cert-manager, Prometheus Operator) are not installed
// there and are left out.
func TestAPIServerAcceptsRenderedObjects(t *testing.T) {
	c, _ := apiServer(t)
	createNamespace(t, c, "dry-run")
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			for _, o := range objects(t, render(t, "dry-run", cs.values)) {
				gvk := o.GroupVersionKind()
				if externalKinds[gvk.GroupVersion().String()+"/"+gvk.Kind] {
					continue
				}
				err := c.Create(context.Background(), o, client.DryRunAll)
				assert.NoError(t, err, "%s %s", gvk.Kind, o.GetName())
			}
		})
	}
}

// TestHelmInstallFileMode installs the chart with its defaults into a real
// kube-apiserver and checks the source it creates, its NOTES, and what the
// operator's ServiceAccount may do: read Secrets and Leases in the release
// namespace only, never Secrets elsewhere, never write RBAC.
func TestHelmInstallFileMode(t *testing.T) {
	c, kubeconfig := apiServer(t)
	ctx := context.Background()
	const ns = "audicia-system"
	out := helm(t, "install", release, chartDir, "--kubeconfig", kubeconfig, "--namespace", ns, "--create-namespace")
	t.Cleanup(func() { _, _ = runHelm("uninstall", release, "--kubeconfig", kubeconfig, "--namespace", ns) })
	for _, want := range []string{
		"STATUS: deployed",
		"--audit-log-path=/var/log/kubernetes/audit.log",
		"kubectl get asrc",
		"kubectl get apr -A",
		"kubectl apply --server-side -f <chart>/crds/",
	} {
		assert.Contains(t, out, want, "helm install output and NOTES")
	}

	var src v1alpha1.AudiciaSource
	require.NoError(t, c.Get(ctx, client.ObjectKey{Name: release}, &src))
	require.NotNil(t, src.Spec.File)
	assert.Equal(t, "/var/log/kubernetes/audit.log", src.Spec.File.Path)
	assert.Equal(t, ns, src.Spec.ReportNamespace)

	createNamespace(t, c, "shop")
	user := fmt.Sprintf("system:serviceaccount:%s:%s", ns, release)
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	for _, tc := range []struct {
		attr    authorizationv1.ResourceAttributes
		allowed bool
	}{
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "secrets", Name: "webhook-tls"}, true},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "watch", Resource: "secrets"}, true},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "audicia-operator"}, true},
		{authorizationv1.ResourceAttributes{Verb: "watch", Group: "audicia.io", Resource: "audiciasources"}, true},
		{authorizationv1.ResourceAttributes{Verb: "patch", Group: "audicia.io", Resource: "audiciasources", Subresource: "status"}, true},
		{authorizationv1.ResourceAttributes{Namespace: "shop", Verb: "create", Group: "audicia.io", Resource: "audiciapolicyreports"}, true},
		{authorizationv1.ResourceAttributes{Namespace: "shop", Verb: "create", Group: "events.k8s.io", Resource: "events"}, true},
		// leader election records its changes through the core Events API
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "events"}, true},

		{authorizationv1.ResourceAttributes{Namespace: "shop", Verb: "get", Resource: "secrets", Name: "webhook-tls"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "list", Resource: "secrets"}, false},
		{authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}, false}, // all namespaces
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "secrets"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "update", Group: "coordination.k8s.io", Resource: "leases"}, false},
		{authorizationv1.ResourceAttributes{Namespace: ns, Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", Name: "audicia-operator"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "shop", Verb: "create", Resource: "events"}, false},
		{authorizationv1.ResourceAttributes{Namespace: "shop", Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"}, false},
		{authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, false},
	} {
		attr := tc.attr
		review := func() *authorizationv1.SubjectAccessReview {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups, ResourceAttributes: &attr,
			}}
			require.NoError(t, c.Create(ctx, sar))
			return sar
		}
		sar := review()
		// The authorizer sees new bindings through its informers: give a grant
		// a moment to arrive (the allowed cases come first, so the denied ones
		// are checked against bindings already seen).
		for deadline := time.Now().Add(10 * time.Second); tc.allowed && !sar.Status.Allowed && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			sar = review()
		}
		assert.Equal(t, tc.allowed, sar.Status.Allowed, "%s %s %s/%s in %q (%s)",
			attr.Verb, attr.Group, attr.Resource, attr.Subresource, attr.Namespace, sar.Status.Reason)
	}
}

// TestHelmInstallWebhookKeepsGeneratedCertificate installs the chart in
// webhook mode with the CA and certificate it generates, upgrades it, and
// checks that the upgrade kept them (kube-apiserver's webhook kubeconfig holds
// the CA), and that the source serves that Secret.
func TestHelmInstallWebhookKeepsGeneratedCertificate(t *testing.T) {
	c, kubeconfig := apiServer(t)
	ctx := context.Background()
	const ns, rel = "audicia-webhook", "audicia-wh"
	out := helm(t, "install", rel, chartDir, "--kubeconfig", kubeconfig, "--namespace", ns, "--create-namespace",
		"--set", "mode=webhook")
	installOut := out
	t.Cleanup(func() { _, _ = runHelm("uninstall", rel, "--kubeconfig", kubeconfig, "--namespace", ns) })
	assert.Contains(t, out, "kubectl -n audicia-webhook get secret audicia-wh-webhook-tls -o jsonpath='{.data.ca\\.crt}'")
	assert.Contains(t, out, "--audit-webhook-config-file=")

	key := client.ObjectKey{Namespace: ns, Name: rel + "-webhook-tls"}
	var before corev1.Secret
	require.NoError(t, c.Get(ctx, key, &before))
	assert.Equal(t, corev1.SecretTypeTLS, before.Type)
	checkServingCert(t, before.Data, "audicia-wh-webhook.audicia-webhook.svc", time.Now().AddDate(0, 0, 3650-1))

	out = helm(t, "upgrade", rel, chartDir, "--kubeconfig", kubeconfig, "--namespace", ns,
		"--set", "mode=webhook", "--set", "replicaCount=2")
	assert.Contains(t, out, "WARNING: only the elected leader listens on the webhook port", "NOTES warn about standby pods in webhook mode")
	assert.NotContains(t, installOut, "WARNING", "one replica: no warning")
	var after corev1.Secret
	require.NoError(t, c.Get(ctx, key, &after))
	assert.Equal(t, before.Data, after.Data, "helm upgrade kept the generated CA and certificate")

	var src v1alpha1.AudiciaSource
	require.NoError(t, c.Get(ctx, client.ObjectKey{Name: rel}, &src))
	require.NotNil(t, src.Spec.Webhook)
	assert.Equal(t, key.Name, src.Spec.Webhook.TLSSecretRef.Name)
	assert.EqualValues(t, 8443, src.Spec.Webhook.Port)
}

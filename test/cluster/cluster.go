package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/testutil"
	"github.com/audicia/audicia/internal/testutil/pki"
)

const (
	// OperatorNamespace holds the webhook's Secrets.
	OperatorNamespace = "audicia-system"
	// operatorAdmin is the identity the operator acts as without the chart.
	operatorAdmin = "audicia-operator"
	// chartRelease is the Helm release of the chart, in OperatorNamespace.
	chartRelease = "audicia"
	// TLSSecret and ClientCASecret are the webhook source's Secrets.
	TLSSecret      = "webhook-tls"
	ClientCASecret = "webhook-client-ca"
	// WebhookClientName is the common name of kube-apiserver's client
	// certificate for the webhook.
	WebhookClientName = "kube-apiserver"
)

// Options configure a Cluster.
type Options struct {
	// Dir holds the audit log, kubeconfigs and logs.
	Dir string
	// CRDs are the directories of the CRDs to install: Audicia's, and the
	// PolicyReport CRDs a cluster with Kyverno or Policy Reporter serves.
	CRDs []string
	// OperatorBinary is the operator to run.
	OperatorBinary string
	// OperatorArgs are added to the operator's flags.
	OperatorArgs []string
	// RotateMB, when set, makes kube-apiserver rotate its audit log at that size.
	RotateMB int
	// Helm and Chart, when set, install the chart (RBAC and ServiceAccount;
	// no kubelet runs its pod here) and run the operator with the chart's
	// ServiceAccount token; without them it runs as a cluster admin.
	Helm, Chart string
}

// Cluster is a running control plane and operator.
type Cluster struct {
	// AuditLog is the file kube-apiserver writes its audit events to.
	AuditLog string
	// Kubectl is the kubectl binary; AdminKubeconfig is a cluster admin's kubeconfig.
	Kubectl, AdminKubeconfig string
	// WebhookPort is where the operator receives the audit webhook.
	WebhookPort int
	// OperatorUser is the username the operator acts as.
	OperatorUser string
	// Config, Client and Kube act as a cluster admin.
	Config   *rest.Config
	Client   client.Client
	Kube     kubernetes.Interface
	Operator *Operator

	env *envtest.Environment
}

// Start starts etcd, kube-apiserver and the operator, with the namespace and
// Secrets a webhook source needs.
func Start(opts Options) (*Cluster, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("kube-apiserver, etcd and kubectl are needed: export KUBEBUILDER_ASSETS=$(hack/control-plane.sh), " +
			"which builds them from the Go module proxy (`make test` and `make demo` do it for you)")
	}
	c := &Cluster{Kubectl: filepath.Join(assets, "kubectl"), AuditLog: filepath.Join(opts.Dir, "audit", "audit.log")}
	ca, err := pki.NewCA("audicia-local")
	if err != nil {
		return nil, err
	}
	if c.WebhookPort, err = FreePort(); err != nil {
		return nil, err
	}
	if err := c.startControlPlane(opts, ca); err != nil {
		return nil, err
	}
	if err := c.setUp(opts, ca); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// startControlPlane starts etcd and kube-apiserver with audit logging to a
// file and to the operator's webhook over mutual TLS.
func (c *Cluster) startControlPlane(opts Options, ca *pki.CA) error {
	if err := os.MkdirAll(filepath.Dir(c.AuditLog), 0o755); err != nil {
		return err
	}
	// kube-apiserver appends to a log that exists when it starts (and only
	// then), which copytruncate rotation relies on.
	if err := os.WriteFile(c.AuditLog, nil, 0o644); err != nil {
		return err
	}
	policy := filepath.Join(opts.Dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"), 0o644); err != nil {
		return err
	}
	clientCert, err := ca.Client(WebhookClientName)
	if err != nil {
		return err
	}
	webhookConfig := filepath.Join(opts.Dir, "audit-webhook.kubeconfig")
	if err := os.WriteFile(webhookConfig, webhookKubeconfig(ca, clientCert, c.WebhookPort), 0o600); err != nil {
		return err
	}

	c.env = &envtest.Environment{CRDDirectoryPaths: opts.CRDs, ErrorIfCRDPathMissing: true}
	args := c.env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", c.AuditLog).
		Set("audit-log-format", "json").
		Set("audit-webhook-config-file", webhookConfig).
		Set("audit-webhook-mode", "batch").
		Set("audit-webhook-batch-max-wait", "1s")
	if opts.RotateMB > 0 {
		args.Set("audit-log-maxsize", fmt.Sprint(opts.RotateMB))
	}
	if c.Config, err = c.env.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	return nil
}

func webhookKubeconfig(ca *pki.CA, client pki.Pair, port int) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: audicia
  cluster:
    server: https://127.0.0.1:%d/audit
    certificate-authority-data: %s
users:
- name: kube-apiserver
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: audicia
  context: {cluster: audicia, user: kube-apiserver}
current-context: audicia
`, port, b64(ca.CertPEM), b64(client.CertPEM), b64(client.KeyPEM))
}

// setUp creates the operator's namespace and the webhook's Secrets, and
// starts the operator.
func (c *Cluster) setUp(opts Options, ca *pki.CA) error {
	var err error
	if c.Client, err = client.New(c.Config, client.Options{Scheme: testutil.Scheme()}); err != nil {
		return err
	}
	if c.Kube, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	if c.AdminKubeconfig, err = c.kubeconfig(opts.Dir, "local-admin"); err != nil {
		return err
	}
	serving, err := ca.Server("127.0.0.1")
	if err != nil {
		return err
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: TLSSecret, Namespace: OperatorNamespace}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: serving.CertPEM, corev1.TLSPrivateKeyKey: serving.KeyPEM}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: ClientCASecret, Namespace: OperatorNamespace},
			Data: map[string][]byte{"ca.crt": ca.CertPEM}},
	} {
		if err := c.Client.Create(context.Background(), obj); err != nil {
			return err
		}
	}
	operatorConfig, err := c.operatorKubeconfig(opts)
	if err != nil {
		return err
	}
	c.Operator = &Operator{Log: filepath.Join(opts.Dir, "operator.log"), binary: opts.OperatorBinary,
		kubeconfig: operatorConfig, args: opts.OperatorArgs}
	return c.Operator.Start()
}

// operatorKubeconfig installs the chart and returns a kubeconfig with its
// ServiceAccount's token, or, without a chart, a cluster admin's.
func (c *Cluster) operatorKubeconfig(opts Options) (string, error) {
	if opts.Chart == "" {
		c.OperatorUser = operatorAdmin
		return c.kubeconfig(opts.Dir, operatorAdmin)
	}
	install := exec.Command(opts.Helm, "install", chartRelease, opts.Chart, "--namespace", OperatorNamespace,
		"--kubeconfig", c.AdminKubeconfig, "--set", "source.create=false", "--wait=false")
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("helm install: %v\n%s", err, out)
	}
	expiry := int64(24 * time.Hour / time.Second)
	token, err := c.Kube.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(context.Background(), chartRelease,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("a token for the chart's ServiceAccount: %w", err)
	}
	c.OperatorUser = serviceaccount.MakeUsername(OperatorNamespace, chartRelease)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "operator"}
	cfg.CurrentContext = "local"
	path := filepath.Join(opts.Dir, "operator.kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// OperatorClient acts as the operator does.
func (c *Cluster) OperatorClient() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Operator.kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func (c *Cluster) kubeconfig(dir, user string) (string, error) {
	u, err := c.env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, user+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Stop stops the operator and the control plane.
func (c *Cluster) Stop() {
	if c.Operator != nil {
		c.Operator.Stop()
	}
	_ = c.env.Stop()
}

// WebhookSpec is a webhook source for this cluster's kube-apiserver: mutual
// TLS, and only its client certificate may post.
func (c *Cluster) WebhookSpec() *v1alpha1.WebhookSource {
	return &v1alpha1.WebhookSource{
		Port:               int32(c.WebhookPort),
		TLSSecretRef:       v1alpha1.SecretReference{Name: TLSSecret},
		ClientCASecretRef:  &v1alpha1.SecretReference{Name: ClientCASecret},
		AllowedClientNames: []string{WebhookClientName},
	}
}

// ServiceAccount creates a ServiceAccount and returns a client that acts as
// it, with a token from the TokenRequest API and no client-side throttling.
func (c *Cluster) ServiceAccount(ctx context.Context, namespace, name string) (kubernetes.Interface, error) {
	cfg, err := c.ServiceAccountConfig(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// ServiceAccountConfig creates a ServiceAccount and returns the client
// configuration of ServiceAccount.
func (c *Cluster) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Kube.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	expiry := int64(time.Hour / time.Second)
	token, err := c.Kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = token.Status.Token
	cfg.QPS, cfg.Burst = -1, 0
	return cfg, nil
}

// User returns a client that acts as the named user, with no groups beyond
// system:authenticated and so no permissions until RBAC grants some.
func (c *Cluster) User(name string) (kubernetes.Interface, error) {
	u, err := c.env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(u.Config())
	cfg.QPS, cfg.Burst = -1, 0
	return kubernetes.NewForConfig(cfg)
}

// FreePort returns a TCP port nothing listens on.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

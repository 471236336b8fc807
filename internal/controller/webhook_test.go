package controller

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/testutil/pki"
)

func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// eventList wraps JSON lines of audit events into the EventList body
// kube-apiserver's webhook backend posts.
func eventList(log []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`)
	for i, line := range bytes.Split(bytes.TrimSpace(log), []byte("\n")) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(line)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func createTLSSecret(t *testing.T, name string, serving pki.Pair) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: operatorNamespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: serving.CertPEM, corev1.TLSPrivateKeyKey: serving.KeyPEM},
	}
	require.NoError(t, k8sClient.Create(t.Context(), secret))
	t.Cleanup(func() { _ = k8sClient.Delete(t.Context(), secret) })
	return secret
}

func TestWebhookSourceReportsWhatItReceives(t *testing.T) {
	ca, err := pki.NewCA("audicia-test")
	require.NoError(t, err)
	serving, err := ca.Server("127.0.0.1")
	require.NoError(t, err)
	port := freePort(t)

	startOperator(t)
	src := &v1alpha1.AudiciaSource{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook"},
		Spec: v1alpha1.AudiciaSourceSpec{
			Webhook:       &v1alpha1.WebhookSource{Port: port, TLSSecretRef: v1alpha1.SecretReference{Name: "webhook-tls"}},
			FlushInterval: &metav1.Duration{Duration: 500 * time.Millisecond},
			Filters:       []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, User: kubeSystemAccounts}},
		},
	}
	createSource(t, src)
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTLSSecretMissing)
	})

	createTLSSecret(t, "webhook-tls", serving)
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	log := readLog(t, scenarioLog)
	resp, err := httpClient.Post(fmt.Sprintf("https://127.0.0.1:%d/audit", port), "application/json", bytes.NewReader(eventList(log)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log)) })

	// Deleting the source stops its receiver.
	deleteSource(t, src.Name)
	eventually(t, 10*time.Second, func() error {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return fmt.Errorf("port %d still accepts connections after the source was deleted", port)
		}
		return nil
	})
}

func TestWebhookPortInUseIsReportedAndRetried(t *testing.T) {
	ca, err := pki.NewCA("audicia-test")
	require.NoError(t, err)
	serving, err := ca.Server("127.0.0.1")
	require.NoError(t, err)
	secret := createTLSSecret(t, "busy-port-tls", serving)
	taken, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	port := int32(taken.Addr().(*net.TCPAddr).Port)

	startOperator(t)
	src := createSource(t, &v1alpha1.AudiciaSource{
		ObjectMeta: metav1.ObjectMeta{Name: "busy-port"},
		Spec: v1alpha1.AudiciaSourceSpec{
			Webhook: &v1alpha1.WebhookSource{Port: port, TLSSecretRef: v1alpha1.SecretReference{Name: secret.Name}},
			Filters: []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, User: kubeSystemAccounts}},
		},
	})
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonPortInUse)
	})
	require.NoError(t, taken.Close())
	eventually(t, 3*retryDelay, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})
}

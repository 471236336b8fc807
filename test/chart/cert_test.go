package chart

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// TestWebhookSelfSignedCertificate checks the CA and certificate the chart
// generates (masked in the golden file): a key pair that matches, signed by
// ca.crt, for server auth, naming the Service, the extra DNS names and IPs,
// valid for webhook.tls.selfSignedValidityDays.
func TestWebhookSelfSignedCertificate(t *testing.T) {
	objs := objects(t, render(t, namespace, "webhook-self-signed.values.yaml"))
	var secret corev1.Secret
	convert(t, one(t, objs, "Secret"), &secret)
	assert.Equal(t, corev1.SecretTypeTLS, secret.Type)
	assert.Equal(t, "audicia-webhook-tls", secret.Name)
	data := map[string][]byte{}
	for k, v := range secret.Data {
		data[k] = v
	}
	cert := checkServingCert(t, data, "audicia-webhook.audicia-system.svc", time.Now().AddDate(0, 0, 3650-1))
	for _, name := range []string{"audicia-webhook", "audicia-webhook.audicia-system", "audicia-webhook.audicia-system.svc.cluster.local", "audicia.example.com", "192.0.2.10"} {
		assert.NoError(t, cert.VerifyHostname(name), "the certificate names %s", name)
	}

	// A second render generates a new pair: without a cluster to look the
	// Secret up in, nothing is kept (helm install and upgrade keep it, see
	// TestHelmInstallWebhookKeepsGeneratedCertificate).
	again := objects(t, render(t, namespace, "webhook-self-signed.values.yaml"))
	assert.NotEqual(t, one(t, objs, "Secret").Object["data"], one(t, again, "Secret").Object["data"])
}

// checkServingCert verifies a kubernetes.io/tls Secret's data (decoded, as the
// API returns it) and returns its certificate.
func checkServingCert(t *testing.T, data map[string][]byte, dnsName string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
		require.NotEmpty(t, data[k], k)
	}
	pair, err := tls.X509KeyPair(data["tls.crt"], data["tls.key"])
	require.NoError(t, err, "tls.crt and tls.key are a pair")
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(data["ca.crt"]), "ca.crt is PEM")
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: dnsName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	require.NoError(t, err, "the certificate is for %s, signed by ca.crt, for server auth", dnsName)
	assert.True(t, cert.NotAfter.After(notAfter), "valid until %s", cert.NotAfter)
	return cert
}

package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/audicia/audicia/internal/testutil"
)

// chartCase is a combination of values rendered into testdata/<name>.golden.
type chartCase struct {
	name   string
	values string // file in testdata; "" for the chart's defaults
	// mask replaces generated key material, which differs on every run.
	mask bool
}

var cases = []chartCase{
	{name: "default"},
	{name: "webhook-existing-secret", values: "webhook-existing-secret.values.yaml"},
	{name: "webhook-self-signed", values: "webhook-self-signed.values.yaml", mask: true},
	{name: "webhook-cert-manager", values: "webhook-cert-manager.values.yaml"},
	{name: "webhook-cert-manager-issuer", values: "webhook-cert-manager-issuer.values.yaml"},
	{name: "ha", values: "ha.values.yaml"},
	{name: "observability", values: "observability.values.yaml"},
}

// generated matches the base64 key material of the chart's self-signed Secret.
var generated = regexp.MustCompile(`(?m)^(  (?:ca\.crt|tls\.crt|tls\.key): )[A-Za-z0-9+/=]{100,}$`)

// TestGolden renders each case with `helm template` and compares it with its
// golden file; -update rewrites them. The chart is rendered with a fixed
// files/rbac.yaml (testdata/rbac.yaml), so that changes of the controllers'
// RBAC markers do not touch the goldens: TestRBACMatchesGenerated holds the
// real file to config/rbac/role.yaml.
func TestGolden(t *testing.T) {
	chart := t.TempDir()
	copyDir(t, chartDir, chart)
	fixture, err := os.ReadFile(filepath.Join("testdata", "rbac.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(chart, "files", "rbac.yaml"), fixture, 0o644))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"template", release, chart, "--namespace", namespace}, valuesArgs(c.values)...)
			got := helm(t, args...)
			if c.mask {
				masked := generated.ReplaceAllString(got, "${1}<generated>")
				require.Equal(t, 3, strings.Count(masked, "<generated>"), "ca.crt, tls.crt and tls.key are generated")
				got = masked
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run `make chart-test UPDATE=1` to write the golden files")
			assert.Equal(t, string(want), got, "%s differs from the chart's output; if the change is intended, run `make chart-test UPDATE=1`", golden)
		})
	}
}

// TestLint runs `helm lint --strict` with each case's values.
func TestLint(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--namespace", namespace}, valuesArgs(c.values)...)
			out := helm(t, args...)
			assert.Contains(t, out, "0 chart(s) failed")
		})
	}
}

// externalKinds are rendered for CRDs of other projects, which the scheme and
// the test API server do not know.
var externalKinds = map[string]bool{
	"monitoring.coreos.com/v1/ServiceMonitor": true,
	"cert-manager.io/v1/Certificate":          true,
	"cert-manager.io/v1/Issuer":               true,
}

// TestRenderedObjectsDecodeStrictly decodes every rendered object into its Go
// type with strict decoding (unknown or duplicate fields fail), and checks that
// namespaced objects land in the release namespace.
func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	decoder := serializer.NewCodecFactory(testutil.Scheme(), serializer.EnableStrict).UniversalDeserializer()
	clusterScoped := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true, "AudiciaSource": true}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rendered := render(t, "team-audit", c.values)
			for _, doc := range documents(t, rendered) {
				u := objects(t, string(doc))[0]
				gvk := u.GroupVersionKind()
				require.NotEmpty(t, u.GetName(), "%s has a name", gvk)
				if clusterScoped[gvk.Kind] {
					assert.Empty(t, u.GetNamespace(), "%s %s is cluster-scoped", gvk.Kind, u.GetName())
				} else if gvk.Kind != "Role" && gvk.Kind != "RoleBinding" {
					// Roles are held to config/rbac by TestRBACMatchesGenerated.
					assert.Equal(t, "team-audit", u.GetNamespace(), "%s %s is in the release namespace", gvk.Kind, u.GetName())
				}
				if externalKinds[gvk.GroupVersion().String()+"/"+gvk.Kind] {
					continue
				}
				obj, _, err := decoder.Decode(doc, nil, nil)
				require.NoError(t, err, "decoding %s %s strictly:\n%s", gvk.Kind, u.GetName(), doc)
				assert.NotNil(t, obj)
			}
		})
	}
}

// TestCertManagerNamesFitLongReleases renders the cert-manager Certificates
// of a long release name in a long namespace: cert-manager refuses a common
// name over 64 bytes, and the webhook's DNS names must still name the
// Service.
func TestCertManagerNamesFitLongReleases(t *testing.T) {
	const longRelease = "audicia-operator-production-europe-west"
	const longNamespace = "security-compliance-evidence"
	args := []string{"template", longRelease, chartDir, "--namespace", longNamespace, "--set", "mode=webhook", "--set", "webhook.certManager.enabled=true"}
	certificates := 0
	for _, u := range objects(t, helm(t, args...)) {
		if u.GetKind() != "Certificate" {
			continue
		}
		certificates++
		cn, _, err := unstructured.NestedString(u.Object, "spec", "commonName")
		require.NoError(t, err)
		assert.LessOrEqual(t, len(cn), 64, "%s: commonName %q", u.GetName(), cn)
		if isCA, _, _ := unstructured.NestedBool(u.Object, "spec", "isCA"); !isCA {
			dns, _, err := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
			require.NoError(t, err)
			assert.Contains(t, dns, longRelease+"-webhook."+longNamespace+".svc", "%s names the Service", u.GetName())
		}
	}
	assert.Equal(t, 2, certificates, "the CA's and the webhook's")
}

// TestRefusedValues: values that cannot work fail the render with a message
// naming the fix, instead of installing an operator that cannot start or read.
func TestRefusedValues(t *testing.T) {
	for name, tc := range map[string]struct {
		set  []string
		want string
	}{
		"unknown mode":              {[]string{"mode=syslog"}, `mode must be file or webhook, not "syslog"`},
		"two TLS sources":           {[]string{"mode=webhook", "webhook.tls.existingSecret=tls", "webhook.certManager.enabled=true"}, "not both"},
		"source port not the pod's": {[]string{"mode=webhook", "source.spec.webhook.port=9000"}, "set the webhook's port with webhook.port"},
		"log outside the mount":     {[]string{"source.spec.file.path=/tmp/audit.log"}, "is outside file.mountPath"},
		"both modes in the source":  {[]string{"source.spec.webhook.port=8443"}, "an AudiciaSource has either file or webhook"},
		"no ServiceAccount named":   {[]string{"serviceAccount.create=false"}, "serviceAccount.name is required"},
		"client names without a CA": {[]string{"mode=webhook", "webhook.allowedClientNames={kube-apiserver}"}, "webhook.allowedClientNames needs webhook.clientCASecret"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", release, chartDir, "--namespace", namespace}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := runHelm(args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

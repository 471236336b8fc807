package policy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/audicia/audicia/internal/policy"
)

func TestIsClusterScoped(t *testing.T) {
	tests := []struct {
		group, resource string
		want            bool
	}{
		{"", "namespaces", true},
		{"", "namespaces/status", true},
		{"", "namespaces/finalize", true},
		{"", "nodes", true},
		{"", "nodes/proxy", true},
		{"", "persistentvolumes", true},
		{"", "componentstatuses", true},
		{"rbac.authorization.k8s.io", "clusterroles", true},
		{"rbac.authorization.k8s.io", "clusterrolebindings", true},
		{"apiextensions.k8s.io", "customresourcedefinitions", true},
		{"apiextensions.k8s.io", "customresourcedefinitions/status", true},
		{"apiregistration.k8s.io", "apiservices", true},
		{"storage.k8s.io", "storageclasses", true},
		{"storage.k8s.io", "csidrivers", true},
		{"storage.k8s.io", "csinodes", true},
		{"storage.k8s.io", "volumeattachments", true},
		{"storage.k8s.io", "volumeattributesclasses", true},
		{"scheduling.k8s.io", "priorityclasses", true},
		{"node.k8s.io", "runtimeclasses", true},
		{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", true},
		{"admissionregistration.k8s.io", "validatingwebhookconfigurations", true},
		{"admissionregistration.k8s.io", "validatingadmissionpolicies", true},
		{"admissionregistration.k8s.io", "validatingadmissionpolicybindings", true},
		{"admissionregistration.k8s.io", "mutatingadmissionpolicies", true},
		{"admissionregistration.k8s.io", "mutatingadmissionpolicybindings", true},
		{"certificates.k8s.io", "certificatesigningrequests", true},
		{"certificates.k8s.io", "certificatesigningrequests/approval", true},
		{"certificates.k8s.io", "clustertrustbundles", true},
		{"authentication.k8s.io", "tokenreviews", true},
		{"authentication.k8s.io", "selfsubjectreviews", true},
		{"authorization.k8s.io", "subjectaccessreviews", true},
		{"authorization.k8s.io", "selfsubjectaccessreviews", true},
		{"authorization.k8s.io", "selfsubjectrulesreviews", true},
		{"networking.k8s.io", "ingressclasses", true},
		{"networking.k8s.io", "ipaddresses", true},
		{"networking.k8s.io", "servicecidrs", true},
		{"flowcontrol.apiserver.k8s.io", "flowschemas", true},
		{"flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", true},
		{"resource.k8s.io", "deviceclasses", true},
		{"resource.k8s.io", "resourceslices", true},
		{"internal.apiserver.k8s.io", "storageversions", true},
		{"storagemigration.k8s.io", "storageversionmigrations", true},
		{"metrics.k8s.io", "nodes", true},

		{"", "pods", false},
		{"", "pods/exec", false},
		{"", "serviceaccounts/token", false},
		{"authorization.k8s.io", "localsubjectaccessreviews", false},
		{"rbac.authorization.k8s.io", "roles", false},
		{"rbac.authorization.k8s.io", "rolebindings", false},
		{"networking.k8s.io", "ingresses", false},
		{"resource.k8s.io", "resourceclaims", false},
		{"storage.k8s.io", "csistoragecapacities", false},
		{"metrics.k8s.io", "pods", false},
		// The group matters: same names elsewhere are someone else's resources.
		{"", "clusterroles", false},
		{"example.com", "nodes", false},
		{"example.com", "widgets", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.group+"/"+tt.resource, func(t *testing.T) {
			assert.Equal(t, tt.want, policy.IsClusterScoped(tt.group, tt.resource))
		})
	}
}

func TestVerbs(t *testing.T) {
	for _, v := range []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
		"impersonate", "bind", "escalate", "approve", "sign", "use", "attest"} {
		assert.True(t, policy.IsResourceVerb(v), v)
	}
	for _, v := range []string{"post", "put", "head", "options", "GET", "", "*", "proxy", "connect"} {
		assert.False(t, policy.IsResourceVerb(v), v)
	}
	for _, v := range []string{"get", "post", "put", "patch", "delete", "head", "options"} {
		assert.True(t, policy.IsNonResourceVerb(v), v)
	}
	for _, v := range []string{"list", "watch", "create", "update", "deletecollection", "GET", "", "*"} {
		assert.False(t, policy.IsNonResourceVerb(v), v)
	}
}

func TestWildcardVerbs(t *testing.T) {
	standard := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	rw := []string{"get", "patch", "update"}
	tests := []struct {
		group, resource string
		want            []string // nil: not ok
	}{
		{"", "pods", standard},
		{"", "configmaps", standard},
		{"apps", "deployments", standard},
		{"rbac.authorization.k8s.io", "rolebindings", standard},
		{"", "pods/status", rw},
		{"apps", "deployments/scale", rw},
		{"", "pods/ephemeralcontainers", rw},
		{"", "pods/resize", rw},
		{"", "pods/exec", []string{"create", "get"}},
		{"", "pods/attach", []string{"create", "get"}},
		{"", "pods/portforward", []string{"create", "get"}},
		{"", "pods/log", []string{"get"}},
		{"", "pods/eviction", []string{"create"}},
		{"", "pods/binding", []string{"create"}},
		{"", "serviceaccounts/token", []string{"create"}},
		{"authentication.k8s.io", "tokenreviews", []string{"create"}},
		{"", "componentstatuses", []string{"get", "list"}},

		// `*` would add a privileged verb.
		{"rbac.authorization.k8s.io", "roles", nil},
		{"rbac.authorization.k8s.io", "clusterroles", nil},
		{"", "users", nil},
		{"", "groups", nil},
		{"", "serviceaccounts", nil},
		{"authentication.k8s.io", "uids", nil},
		{"authentication.k8s.io", "userextras", nil},
		{"authentication.k8s.io", "userextras/status", nil},
		{"certificates.k8s.io", "certificatesigningrequests", nil},
		{"certificates.k8s.io", "signers", nil},
		{"policy", "podsecuritypolicies", nil},
		{"extensions", "podsecuritypolicies", nil},
		// Unknown verbs.
		{"", "pods/proxy", nil},
		{"", "nodes/proxy", nil},
		{"", "namespaces/finalize", nil},
		{"certificates.k8s.io", "certificatesigningrequests/approval", nil},
		{"example.com", "widgets", nil},
		{"example.com", "widgets/status", nil},
		{"", "clusterroles", nil},
	}
	for _, tt := range tests {
		t.Run(tt.group+"/"+tt.resource, func(t *testing.T) {
			got, ok := policy.WildcardVerbs(tt.group, tt.resource)
			assert.Equal(t, tt.want != nil, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWildcardVerbsReturnsACopy(t *testing.T) {
	got, _ := policy.WildcardVerbs("", "pods")
	got[0] = "escalate"
	again, _ := policy.WildcardVerbs("", "pods")
	assert.NotContains(t, again, "escalate")
}

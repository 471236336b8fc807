package controller

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestAPIServerRefusesInvalidSources holds the AudiciaSource CRD's
// validation to what the operator cannot run: the real API server refuses
// each spec with a message that names the fix, before any runner sees it.
func TestAPIServerRefusesInvalidSources(t *testing.T) {
	const tls = "tlsSecretRef: {name: webhook-tls}"
	for name, tc := range map[string]struct{ spec, want string }{
		"neither file nor webhook": {`{}`, "exactly one of file or webhook must be set"},
		"both file and webhook":    {`{file: {path: /var/log/audit.log}, webhook: {` + tls + `}}`, "exactly one of file or webhook must be set"},
		"client names without mutual TLS": {`{webhook: {` + tls + `, allowedClientNames: [kube-apiserver]}}`,
			"allowedClientNames needs clientCASecretRef"},
		"a filter matching nothing given": {`{file: {path: /var/log/audit.log}, filters: [{action: Deny}]}`,
			"a filter rule needs at least one of user, group, namespace, verb or resource"},
		"a filter of an empty user": {`{file: {path: /var/log/audit.log}, filters: [{action: Deny, user: ""}]}`,
			"spec.filters[0].user"},
		"thresholds upside down": {`{file: {path: /var/log/audit.log}, compliance: {green: 50, yellow: 80}}`, "yellow must be below green"},
	} {
		t.Run(name, func(t *testing.T) {
			err := k8sClient.Create(context.Background(), sourceFromYAML(t, "invalid", tc.spec))
			require.Error(t, err, "the API server accepted %s", tc.spec)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	valid := `{webhook: {` + tls + `, clientCASecretRef: {name: clients}, allowedClientNames: [kube-apiserver]}, filters: [{action: Deny, user: "system:.*"}]}`
	require.NoError(t, k8sClient.Create(context.Background(), sourceFromYAML(t, "valid-mutual-tls", valid), &client.CreateOptions{DryRun: []string{"All"}}))
}

// sourceFromYAML is an AudiciaSource with the spec written in YAML, as a
// user would: unlike the Go type, it can hold fields given empty.
func sourceFromYAML(t *testing.T, name, spec string) *unstructured.Unstructured {
	t.Helper()
	var fields map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(spec), &fields))
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "audicia.io/v1alpha1", "kind": "AudiciaSource",
		"metadata": map[string]any{"name": name}, "spec": fields,
	}}
}

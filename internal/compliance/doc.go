// Package compliance owns the comparison of what a subject was granted with
// what it was observed doing: it expands the subject's live RBAC grants over
// the cluster's discovered API resources into atoms (API group, resource,
// verb, namespace scope, optionally restricted to object names), with
// Kubernetes' own matching rules (wildcards, `*/subresource`, resourceNames,
// nonResourceURL `prefix*`), marks the atoms that allowed requests exercised,
// and derives the used / excess / uncovered counts, the score and severity,
// the sensitive excess and the drift against the suggested policy. Grants that
// every caller holds (system:authenticated) are listed but not scored. It is
// pure: values in, values out, no API server.
package compliance

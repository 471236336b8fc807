// Package policy turns the rules a subject was observed to use into the
// least-privilege RBAC that allows them: it applies the strategy knobs
// (scopeMode, verbMerge, wildcards, resourceNames) to compute the rules of one
// ClusterRole and one Role per namespace, builds those objects and their
// bindings, and renders them as deterministic YAML ready for review and
// `kubectl apply`. It also owns the knowledge of the Kubernetes API the
// pipeline and the renderer share (which resources are cluster-scoped, which
// verbs exist, when `*` is safe) and the names of the generated objects. It
// does no I/O: values in, values out.
package policy

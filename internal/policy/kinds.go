package policy

import (
	"slices"
	"strings"
)

// Verb sets of the built-in API. They decide where `verbs: ["*"]` is an exact
// abbreviation rather than a broadening.
var (
	standardVerbs    = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	createOnly       = []string{"create"}
	readOnlyList     = []string{"get", "list"}
	subresourceRW    = []string{"get", "patch", "update"}
	streamingVerbs   = []string{"create", "get"}
	logVerbs         = []string{"get"}
	rbacOnlyVerbs    = []string{"approve", "attest", "bind", "escalate", "impersonate", "sign", "use"}
	nonResourceVerbs = []string{"delete", "get", "head", "options", "patch", "post", "put"}
)

// resourceInfo is what the renderer needs to know about a built-in resource.
type resourceInfo struct {
	cluster bool
	// verbs is the full set the resource serves; nil when `*` must never be
	// written: it would also grant a privileged verb (bind, escalate,
	// impersonate, approve, sign, use, attest), or the resource is served by
	// an aggregated API whose verbs are not known here.
	verbs []string
}

type groupResource struct{ group, resource string }

// builtins lists the resources the Kubernetes API server serves itself (plus
// the metrics API and RBAC-only virtual resources), keyed by API group.
// Custom resources are deliberately absent: their scope and verbs are unknown.
var builtins = buildBuiltins(map[string]map[string]resourceInfo{
	"": {
		"bindings":               {verbs: createOnly},
		"componentstatuses":      {cluster: true, verbs: readOnlyList},
		"configmaps":             {verbs: standardVerbs},
		"endpoints":              {verbs: standardVerbs},
		"events":                 {verbs: standardVerbs},
		"groups":                 {cluster: true}, // impersonate
		"limitranges":            {verbs: standardVerbs},
		"namespaces":             {cluster: true, verbs: standardVerbs},
		"nodes":                  {cluster: true, verbs: standardVerbs},
		"persistentvolumeclaims": {verbs: standardVerbs},
		"persistentvolumes":      {cluster: true, verbs: standardVerbs},
		"pods":                   {verbs: standardVerbs},
		"podtemplates":           {verbs: standardVerbs},
		"replicationcontrollers": {verbs: standardVerbs},
		"resourcequotas":         {verbs: standardVerbs},
		"secrets":                {verbs: standardVerbs},
		"serviceaccounts":        {}, // impersonate
		"services":               {verbs: standardVerbs},
		"users":                  {cluster: true}, // impersonate
	},
	"admissionregistration.k8s.io": {
		"mutatingadmissionpolicies":         {cluster: true, verbs: standardVerbs},
		"mutatingadmissionpolicybindings":   {cluster: true, verbs: standardVerbs},
		"mutatingwebhookconfigurations":     {cluster: true, verbs: standardVerbs},
		"validatingadmissionpolicies":       {cluster: true, verbs: standardVerbs},
		"validatingadmissionpolicybindings": {cluster: true, verbs: standardVerbs},
		"validatingwebhookconfigurations":   {cluster: true, verbs: standardVerbs},
	},
	"apiextensions.k8s.io":   {"customresourcedefinitions": {cluster: true, verbs: standardVerbs}},
	"apiregistration.k8s.io": {"apiservices": {cluster: true, verbs: standardVerbs}},
	"apps": {
		"controllerrevisions": {verbs: standardVerbs},
		"daemonsets":          {verbs: standardVerbs},
		"deployments":         {verbs: standardVerbs},
		"replicasets":         {verbs: standardVerbs},
		"statefulsets":        {verbs: standardVerbs},
	},
	"authentication.k8s.io": {
		"selfsubjectreviews": {cluster: true, verbs: createOnly},
		"tokenreviews":       {cluster: true, verbs: createOnly},
		"uids":               {cluster: true}, // impersonate
		"userextras":         {cluster: true}, // impersonate
	},
	"authorization.k8s.io": {
		"localsubjectaccessreviews": {verbs: createOnly},
		"selfsubjectaccessreviews":  {cluster: true, verbs: createOnly},
		"selfsubjectrulesreviews":   {cluster: true, verbs: createOnly},
		"subjectaccessreviews":      {cluster: true, verbs: createOnly},
	},
	"autoscaling": {"horizontalpodautoscalers": {verbs: standardVerbs}},
	"batch": {
		"cronjobs": {verbs: standardVerbs},
		"jobs":     {verbs: standardVerbs},
	},
	"certificates.k8s.io": {
		"certificatesigningrequests": {cluster: true}, // approval goes with approve/sign on signers
		"clustertrustbundles":        {cluster: true, verbs: standardVerbs},
		"podcertificaterequests":     {verbs: standardVerbs},
		"signers":                    {cluster: true}, // approve, sign, attest
	},
	"coordination.k8s.io": {
		"leasecandidates": {verbs: standardVerbs},
		"leases":          {verbs: standardVerbs},
	},
	"discovery.k8s.io": {"endpointslices": {verbs: standardVerbs}},
	"events.k8s.io":    {"events": {verbs: standardVerbs}},
	"extensions": {
		"daemonsets":          {verbs: standardVerbs},
		"deployments":         {verbs: standardVerbs},
		"ingresses":           {verbs: standardVerbs},
		"networkpolicies":     {verbs: standardVerbs},
		"podsecuritypolicies": {cluster: true}, // use
		"replicasets":         {verbs: standardVerbs},
	},
	"flowcontrol.apiserver.k8s.io": {
		"flowschemas":                 {cluster: true, verbs: standardVerbs},
		"prioritylevelconfigurations": {cluster: true, verbs: standardVerbs},
	},
	"internal.apiserver.k8s.io": {"storageversions": {cluster: true, verbs: standardVerbs}},
	"metrics.k8s.io": {
		"nodes": {cluster: true},
		"pods":  {},
	},
	"networking.k8s.io": {
		"ingressclasses":  {cluster: true, verbs: standardVerbs},
		"ingresses":       {verbs: standardVerbs},
		"ipaddresses":     {cluster: true, verbs: standardVerbs},
		"networkpolicies": {verbs: standardVerbs},
		"servicecidrs":    {cluster: true, verbs: standardVerbs},
	},
	"node.k8s.io": {"runtimeclasses": {cluster: true, verbs: standardVerbs}},
	"policy": {
		"poddisruptionbudgets": {verbs: standardVerbs},
		"podsecuritypolicies":  {cluster: true}, // use
	},
	"rbac.authorization.k8s.io": {
		"clusterrolebindings": {cluster: true, verbs: standardVerbs},
		"clusterroles":        {cluster: true}, // bind, escalate
		"rolebindings":        {verbs: standardVerbs},
		"roles":               {}, // bind, escalate
	},
	"resource.k8s.io": {
		"deviceclasses":          {cluster: true, verbs: standardVerbs},
		"devicetaintrules":       {cluster: true, verbs: standardVerbs},
		"resourceclaims":         {verbs: standardVerbs},
		"resourceclaimtemplates": {verbs: standardVerbs},
		"resourceslices":         {cluster: true, verbs: standardVerbs},
	},
	"scheduling.k8s.io": {"priorityclasses": {cluster: true, verbs: standardVerbs}},
	"storage.k8s.io": {
		"csidrivers":              {cluster: true, verbs: standardVerbs},
		"csinodes":                {cluster: true, verbs: standardVerbs},
		"csistoragecapacities":    {verbs: standardVerbs},
		"storageclasses":          {cluster: true, verbs: standardVerbs},
		"volumeattachments":       {cluster: true, verbs: standardVerbs},
		"volumeattributesclasses": {cluster: true, verbs: standardVerbs},
	},
	"storagemigration.k8s.io": {"storageversionmigrations": {cluster: true, verbs: standardVerbs}},
})

// subresourceVerbs are the verbs of the built-in subresources where `*` is
// exact. Other subresources (proxy, finalize, approval, ...) never get `*`.
var subresourceVerbs = map[string][]string{
	"status":              subresourceRW,
	"scale":               subresourceRW,
	"ephemeralcontainers": subresourceRW,
	"resize":              subresourceRW,
	"exec":                streamingVerbs,
	"attach":              streamingVerbs,
	"portforward":         streamingVerbs,
	"log":                 logVerbs,
	"eviction":            createOnly,
	"binding":             createOnly,
	"token":               createOnly,
}

func buildBuiltins(byGroup map[string]map[string]resourceInfo) map[groupResource]resourceInfo {
	out := make(map[groupResource]resourceInfo)
	for group, resources := range byGroup {
		for resource, info := range resources {
			out[groupResource{group, resource}] = info
		}
	}
	return out
}

// splitResource splits "pods/exec" into "pods" and "exec".
func splitResource(resource string) (base, sub string) {
	base, sub, _ = strings.Cut(resource, "/")
	return base, sub
}

// IsClusterScoped reports whether the built-in resource (optionally with a
// "/subresource") is cluster-scoped. Unknown resources, custom ones included,
// are reported namespaced: the request's namespace then decides.
func IsClusterScoped(apiGroup, resource string) bool {
	base, _ := splitResource(resource)
	return builtins[groupResource{apiGroup, base}].cluster
}

// IsResourceVerb reports whether verb is one RBAC knows for resources,
// including the verbs only RBAC itself checks (bind, impersonate, ...).
func IsResourceVerb(verb string) bool {
	return slices.Contains(standardVerbs, verb) || slices.Contains(rbacOnlyVerbs, verb)
}

// IsNonResourceVerb reports whether verb is the lower-case HTTP method RBAC
// uses for non-resource URLs.
func IsNonResourceVerb(verb string) bool {
	return slices.Contains(nonResourceVerbs, verb)
}

// WildcardVerbs returns every verb the resource serves, when `verbs: ["*"]`
// would grant nothing beyond them. ok is false for unknown resources and
// subresources (their verbs are not known, and custom authorizers may check
// made-up verbs) and for resources where `*` would add a privileged verb.
func WildcardVerbs(apiGroup, resource string) (verbs []string, ok bool) {
	verbs = wildcardVerbs(apiGroup, resource)
	return slices.Clone(verbs), verbs != nil
}

// wildcardVerbs is WildcardVerbs without the copy, nil when not ok; the
// caller must not change the slice.
func wildcardVerbs(apiGroup, resource string) []string {
	base, sub := splitResource(resource)
	info, known := builtins[groupResource{apiGroup, base}]
	switch {
	case !known:
		return nil
	case sub == "":
		return info.verbs
	case isVirtual(apiGroup, base):
		// userextras/<key> looks like a subresource but is impersonation.
		return nil
	}
	return subresourceVerbs[sub]
}

// isVirtual reports resources that exist only as RBAC names.
func isVirtual(apiGroup, base string) bool {
	return apiGroup == "authentication.k8s.io" && base == "userextras"
}

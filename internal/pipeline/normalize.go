package pipeline

import (
	"strings"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/policy"
)

// Atom is one permission as RBAC checks it: a verb on a resource (with its
// subresource) or a non-resource URL, in a namespace ("" for cluster scope).
type Atom struct {
	APIGroup       string
	Resource       string
	NonResourceURL string
	Namespace      string
	Verb           string
}

// request is an audit event reduced to what the store records.
type request struct {
	target *target
	name   string // object name, for resourceNames
	denied bool
	at     int64 // request time, Unix nanoseconds
}

const serviceAccountPrefix = "system:serviceaccount:"

// subjectOf names the kind of identity a username stands for.
func subjectOf(username string) v1alpha1.Subject {
	if rest, ok := strings.CutPrefix(username, serviceAccountPrefix); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok && ns != "" && name != "" && !strings.Contains(name, ":") {
			return v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}
		}
	}
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: username}
}

// isSystemUser reports a control-plane identity (`system:*`) that is not a
// ServiceAccount.
func isSystemUser(s v1alpha1.Subject) bool {
	return s.Kind == v1alpha1.SubjectKindUser && strings.HasPrefix(s.Name, "system:")
}

// deprecatedGroups maps resources of removed API groups to their successors.
var deprecatedGroups = map[[2]string]string{
	{"extensions", "deployments"}:         "apps",
	{"extensions", "daemonsets"}:          "apps",
	{"extensions", "replicasets"}:         "apps",
	{"extensions", "ingresses"}:           "networking.k8s.io",
	{"extensions", "networkpolicies"}:     "networking.k8s.io",
	{"extensions", "podsecuritypolicies"}: "policy",
	{"apps", "podsecuritypolicies"}:       "policy",
}

// denied reports whether the authorizer denied the request.
func denied(ev *audit.Event) bool {
	return ev.Decision == audit.DecisionForbid
}

// refusedBeforeAuthorization reports a 403 without the authorizer's
// decision. kube-apiserver records the decision of every request its
// authorizer judges; such a 403 comes from a filter before it, the
// impersonation filter above all (a user that may not impersonate the user
// it names is refused with the verb and resource of the request it wrapped).
func refusedBeforeAuthorization(ev *audit.Event) bool {
	return ev.Code == 403 && ev.Decision == audit.DecisionUnknown
}

// atomOf is the permission an event exercised, its object's name aside.
func atomOf(ev *audit.Event, migrate bool) (a Atom, ok bool) {
	a.Verb = ev.Verb
	if !ev.HasObjectRef {
		a.NonResourceURL = ev.RequestPath
		return a, strings.HasPrefix(ev.RequestPath, "/") && policy.IsNonResourceVerb(ev.Verb)
	}
	ref := &ev.ObjectRef
	if ref.Resource == "" || !policy.IsResourceVerb(ev.Verb) {
		return a, false
	}
	a.APIGroup = ref.APIGroup
	if migrate {
		if group, found := deprecatedGroups[[2]string{ref.APIGroup, ref.Resource}]; found {
			a.APIGroup = group
		}
	}
	a.Resource = ref.Resource
	if ref.Subresource != "" {
		a.Resource = ref.Resource + "/" + ref.Subresource
	}
	// A namespace object is addressed with its own name as namespace; it is
	// still cluster-scoped and belongs in a ClusterRole.
	if !policy.IsClusterScoped(a.APIGroup, ref.Resource) {
		a.Namespace = ref.Namespace
	}
	return a, true
}

package compliance

import "strings"

// sensitiveTrees are resources whose every verb, on the resource and on all
// its subresources, is worth a reviewer's attention when held and unused.
var sensitiveTrees = map[groupResource]bool{
	{"", "secrets"}:                                                     true,
	{"", "nodes"}:                                                       true,
	{"", "persistentvolumes"}:                                           true,
	{"rbac.authorization.k8s.io", "roles"}:                              true,
	{"rbac.authorization.k8s.io", "clusterroles"}:                       true,
	{"rbac.authorization.k8s.io", "rolebindings"}:                       true,
	{"rbac.authorization.k8s.io", "clusterrolebindings"}:                true,
	{"admissionregistration.k8s.io", "validatingwebhookconfigurations"}: true,
	{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"}:   true,
	{"certificates.k8s.io", "certificatesigningrequests"}:               true,
	{"authentication.k8s.io", "tokenreviews"}:                           true,
	{"authorization.k8s.io", "subjectaccessreviews"}:                    true,
	{"authorization.k8s.io", "localsubjectaccessreviews"}:               true,
	{"authorization.k8s.io", "selfsubjectaccessreviews"}:                true,
	{"authorization.k8s.io", "selfsubjectrulesreviews"}:                 true,
	{"storage.k8s.io", "storageclasses"}:                                true,
	{"apiextensions.k8s.io", "customresourcedefinitions"}:               true,
}

// sensitiveSubresources are subresources sensitive on their own, whose
// parent resource is not.
var sensitiveSubresources = map[groupResource]bool{
	{"", "serviceaccounts/token"}: true,
	{"", "pods/exec"}:             true,
	{"", "pods/attach"}:           true,
}

// sensitiveVerbs are sensitive on any resource.
var sensitiveVerbs = []string{"bind", "escalate", "impersonate"}

func isSensitiveResource(group, resource string) bool {
	base, _, _ := strings.Cut(resource, "/")
	return sensitiveTrees[groupResource{group, base}] || sensitiveSubresources[groupResource{group, resource}]
}

// sensitiveMask returns the verbs of entry i that are sensitive among verbs.
func (c *Catalog) sensitiveMask(i int, verbs uint64) uint64 {
	if c.entries[i].sensitive {
		return verbs
	}
	return verbs & c.sensitiveVerbs
}

func (c *Catalog) isSensitive(i int, verbs uint64) bool { return c.sensitiveMask(i, verbs) != 0 }

// sensitive describes the sensitive part of verbs of entry i in scope ns, as
// "secrets get,list,watch in all namespaces".
func (c *Catalog) sensitive(ns string, i int, verbs uint64, names []string) string {
	e := &c.entries[i]
	verbs = c.sensitiveMask(i, verbs)
	var b strings.Builder
	b.WriteString(displayName(e.group, e.resource))
	if len(names) > 0 {
		b.WriteString(" [" + strings.Join(names, ",") + "]")
	}
	b.WriteString(" " + strings.Join(c.verbList(verbs), ","))
	switch {
	case ns != "":
		b.WriteString(" in namespace " + ns)
	case e.rbacNamespaced && e.namespaced:
		b.WriteString(" in all namespaces")
	default:
		b.WriteString(" cluster-wide")
	}
	return b.String()
}

// displayName writes a resource as kubectl does, group-qualified outside the
// core group: "secrets", "clusterroles.rbac.authorization.k8s.io",
// "certificatesigningrequests.certificates.k8s.io/approval".
func displayName(group, resource string) string {
	if group == "" {
		return resource
	}
	base, sub, ok := strings.Cut(resource, "/")
	if !ok {
		return resource + "." + group
	}
	return base + "." + group + "/" + sub
}

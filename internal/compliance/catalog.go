package compliance

import (
	"sort"
	"strings"
)

// APIResource is one resource the API server serves, as discovery lists it.
// Subresources are separate entries (Resource "pods/exec").
type APIResource struct {
	// Group is the API group; "" for the core group.
	Group string `json:"group"`
	// Resource is the plural resource name, with "/subresource" for subresources.
	Resource string `json:"resource"`
	// Namespaced tells whether objects of the resource live in a namespace.
	Namespaced bool `json:"namespaced"`
	// Verbs are the verbs discovery lists for the resource.
	Verbs []string `json:"verbs"`
}

// specialVerbs are verbs RBAC checks that discovery does not list: they are
// added to the resources they apply to, so that a grant of them (or of `*`)
// counts and shows.
var specialVerbs = []APIResource{
	{Group: "rbac.authorization.k8s.io", Resource: "roles", Namespaced: true, Verbs: []string{"bind", "escalate"}},
	{Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Verbs: []string{"bind", "escalate"}},
	{Group: "", Resource: "serviceaccounts", Namespaced: true, Verbs: []string{"impersonate"}},
}

// virtualResources are checked by RBAC but not served, so discovery never
// lists them: the identities one may impersonate and the certificate signers.
var virtualResources = []APIResource{
	{Group: "", Resource: "users", Verbs: []string{"impersonate"}},
	{Group: "", Resource: "groups", Verbs: []string{"impersonate"}},
	{Group: "authentication.k8s.io", Resource: "uids", Verbs: []string{"impersonate"}},
	{Group: "certificates.k8s.io", Resource: "signers", Verbs: []string{"approve", "attest", "sign"}},
}

// nonResourceVerbs are the verbs a `*` expands to on non-resource URLs.
var nonResourceVerbs = []string{"delete", "get", "head", "patch", "post", "put"}

// maxVerbs bounds the distinct verbs a Catalog tracks (one bit each); verbs
// past it are ignored. Kubernetes serves about a dozen.
const maxVerbs = 64

// entry is one resource of a Catalog.
type entry struct {
	group, resource string
	sub             string // subresource, "" for the resource itself
	// rbacNamespaced is true when a RoleBinding can grant the resource:
	// namespaced resources, and namespaces themselves (a RoleBinding in X
	// allows get on namespace X).
	rbacNamespaced bool
	namespaced     bool
	verbs          uint64 // bits of Catalog.verbs
	sensitive      bool   // every verb on it is sensitive
}

type groupResource struct{ group, resource string }

// Catalog is the cluster's discovered resources, indexed for expanding
// grants. Build it once per discovery refresh with NewCatalog and share it:
// it is read-only and safe for concurrent use.
type Catalog struct {
	entries    []entry // sorted by group, then resource
	byKey      map[groupResource]int
	byGroup    map[string][]int
	byResource map[string][]int
	bySub      map[string][]int
	verbs      []string // bit i is verbs[i]
	verbBit    map[string]uint
	// sensitiveVerbs are the bits of the verbs sensitive on any resource.
	sensitiveVerbs uint64
}

// NewCatalog indexes resources (as discovery lists them; duplicates across
// versions are merged) together with what RBAC checks beyond discovery: the
// bind and escalate verbs on roles and clusterroles, impersonate on users,
// groups, serviceaccounts and uids, and approve, attest and sign on signers.
func NewCatalog(resources []APIResource) *Catalog {
	merged := map[groupResource]*APIResource{}
	var order []groupResource
	add := func(r APIResource, onlyIfPresent bool) {
		k := groupResource{r.Group, r.Resource}
		m := merged[k]
		if m == nil {
			if onlyIfPresent {
				return
			}
			m = &APIResource{Group: r.Group, Resource: r.Resource, Namespaced: r.Namespaced}
			merged[k] = m
			order = append(order, k)
		}
		m.Verbs = append(m.Verbs, r.Verbs...)
	}
	for _, r := range resources {
		if r.Resource != "" {
			add(r, false)
		}
	}
	for _, r := range specialVerbs {
		add(r, true)
	}
	for _, r := range virtualResources {
		add(r, false)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].group != order[j].group {
			return order[i].group < order[j].group
		}
		return order[i].resource < order[j].resource
	})

	c := &Catalog{
		byKey:      make(map[groupResource]int, len(order)),
		byGroup:    map[string][]int{},
		byResource: map[string][]int{},
		bySub:      map[string][]int{},
		verbBit:    map[string]uint{},
	}
	// Verbs get bits in sorted order so that masks list them sorted.
	var all []string
	for _, k := range order {
		for _, v := range merged[k].Verbs {
			if _, ok := c.verbBit[v]; !ok && v != "" && v != "*" {
				c.verbBit[v] = 0
				all = append(all, v)
			}
		}
	}
	sort.Strings(all)
	if len(all) > maxVerbs {
		all = all[:maxVerbs]
	}
	c.verbBit = make(map[string]uint, len(all))
	for i, v := range all {
		c.verbBit[v] = uint(i)
	}
	c.verbs = all
	c.sensitiveVerbs = c.mask(sensitiveVerbs)

	for i, k := range order {
		r := merged[k]
		e := entry{group: r.Group, resource: r.Resource, namespaced: r.Namespaced, verbs: c.mask(r.Verbs)}
		base := r.Resource
		if b, s, ok := strings.Cut(r.Resource, "/"); ok {
			base, e.sub = b, s
		}
		e.rbacNamespaced = r.Namespaced || (r.Group == "" && base == "namespaces")
		e.sensitive = isSensitiveResource(r.Group, r.Resource)
		c.entries = append(c.entries, e)
		c.byKey[k] = i
		c.byGroup[r.Group] = append(c.byGroup[r.Group], i)
		c.byResource[r.Resource] = append(c.byResource[r.Resource], i)
		if e.sub != "" {
			c.bySub[e.sub] = append(c.bySub[e.sub], i)
		}
	}
	return c
}

// mask returns the bits of the verbs the Catalog knows; `*` is every bit.
func (c *Catalog) mask(verbs []string) uint64 {
	var m uint64
	for _, v := range verbs {
		if v == "*" {
			return ^uint64(0)
		}
		if b, ok := c.verbBit[v]; ok {
			m |= 1 << b
		}
	}
	return m
}

// verbList returns the verbs of mask, sorted.
func (c *Catalog) verbList(mask uint64) []string {
	var out []string
	for i, v := range c.verbs {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// lookup returns the entry of a group and resource ("pods/exec").
func (c *Catalog) lookup(group, resource string) (int, bool) {
	i, ok := c.byKey[groupResource{group, resource}]
	return i, ok
}

// candidates calls fn with every entry whose group and resource the rule's
// apiGroups and resources match, as Kubernetes matches them: `*` any group or
// resource (subresources included), `*/sub` any resource's subresource sub,
// otherwise exact names. An entry may be passed more than once.
func (c *Catalog) candidates(groups, resources []string, fn func(i int)) {
	anyGroup := false
	for _, g := range groups {
		if g == "*" {
			anyGroup = true
		}
	}
	for _, r := range resources {
		sub, isSubWildcard := strings.CutPrefix(r, "*/")
		switch {
		case anyGroup && r == "*":
			for i := range c.entries {
				fn(i)
			}
		case anyGroup && isSubWildcard:
			for _, i := range c.bySub[sub] {
				fn(i)
			}
		case anyGroup:
			for _, i := range c.byResource[r] {
				fn(i)
			}
		default:
			for _, g := range groups {
				switch {
				case r == "*":
					for _, i := range c.byGroup[g] {
						fn(i)
					}
				case isSubWildcard:
					for _, i := range c.bySub[sub] {
						if c.entries[i].group == g {
							fn(i)
						}
					}
				default:
					if i, ok := c.lookup(g, r); ok {
						fn(i)
					}
				}
			}
		}
	}
}

package compliance

import (
	"math/bits"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/rbac"
)

// Severity grades a score.
type Severity string

const (
	// SeverityGreen: the subject uses most of what it holds.
	SeverityGreen Severity = "Green"
	// SeverityYellow: a sizeable part of what it holds is unused.
	SeverityYellow Severity = "Yellow"
	// SeverityRed: most of what it holds is unused.
	SeverityRed Severity = "Red"
)

// Default thresholds.
const (
	DefaultGreen  = 80
	DefaultYellow = 50
)

// Thresholds are the lowest scores graded Green and Yellow; below Yellow is
// Red. A zero field takes its default (80 and 50).
type Thresholds struct {
	Green, Yellow int
}

// Severity grades score: Green at or above t.Green, Yellow at or above
// t.Yellow, Red below.
func (t Thresholds) Severity(score int) Severity {
	if t.Green == 0 {
		t.Green = DefaultGreen
	}
	if t.Yellow == 0 {
		t.Yellow = DefaultYellow
	}
	switch {
	case score >= t.Green:
		return SeverityGreen
	case score >= t.Yellow:
		return SeverityYellow
	}
	return SeverityRed
}

// MaxEntries caps every list of a Result; the matching *Total field counts
// them all.
const MaxEntries = 50

// ScopedRule is a compact rule with the namespace it applies in: one API
// group and one resource (or one non-resource URL), the verbs merged.
type ScopedRule struct {
	// Namespace where the rule applies; "" is cluster-wide: every namespace
	// for a namespaced resource, else a cluster-scoped resource or a URL.
	Namespace string `json:"namespace,omitempty"`
	// PolicyRule holds exactly one API group and resource, or one URL.
	rbacv1.PolicyRule `json:",inline"`
}

// Drift is the difference between what the subject needs (every observed
// request, allowed or denied, as the suggested policy allows them) and what
// live RBAC grants it.
type Drift struct {
	// Missing is needed and not granted: what the denied requests asked for
	// (and allowed requests whose grant has since gone). Applying the
	// suggested policy adds it.
	Missing      []ScopedRule `json:"missing,omitempty"`
	MissingTotal int          `json:"missingTotal,omitempty"`
	// Excess is granted and never requested, allowed or denied. Replacing
	// the old grants by the suggested policy takes it away.
	Excess      []ScopedRule `json:"excess,omitempty"`
	ExcessTotal int          `json:"excessTotal,omitempty"`
}

// Result is the comparison of a subject's grants with its observed requests.
// Lists are sorted and hold at most MaxEntries; counts are complete.
type Result struct {
	// Score is 100 × Used / Granted, rounded down, so 100 only when every
	// granted atom is used. With nothing granted beyond the baseline it is
	// 100 whatever was observed: the score measures privilege held and not
	// used, and a subject that holds nothing holds nothing in excess; what it
	// lacks (its 403s) shows in Uncovered and Drift.Missing instead.
	Score    int      `json:"score"`
	Severity Severity `json:"severity"`

	// Granted counts the atoms (group, resource, verb, scope, optionally
	// names) the non-baseline grants expand to over the discovered resources,
	// plus non-resource URL and verb pairs.
	Granted int `json:"granted"`
	// Used counts the granted atoms at least one allowed request exercised.
	Used int `json:"used"`
	// Excess is Granted - Used.
	Excess int `json:"excess"`
	// Uncovered counts the observed rules (allowed or denied) that no grant,
	// baseline included, allows now.
	Uncovered int `json:"uncovered"`

	// ExcessRules are the unused atoms, grouped by scope, group, resource
	// and names, verbs merged.
	ExcessRules      []ScopedRule `json:"excessRules,omitempty"`
	ExcessRulesTotal int          `json:"excessRulesTotal,omitempty"`
	// UncoveredRules are the observed requests no grant allows, grouped the
	// same way.
	UncoveredRules      []ScopedRule `json:"uncoveredRules,omitempty"`
	UncoveredRulesTotal int          `json:"uncoveredRulesTotal,omitempty"`
	// SensitiveExcess describes the unused atoms that matter most (secrets,
	// nodes, RBAC objects, admission webhooks, CSRs, token and access
	// reviews, persistent volumes, storage classes, CRDs,
	// serviceaccounts/token, pods/exec, pods/attach; the verbs escalate,
	// bind, impersonate), one line per resource and scope:
	// "secrets get,list,watch in all namespaces".
	SensitiveExcess      []string `json:"sensitiveExcess,omitempty"`
	SensitiveExcessTotal int      `json:"sensitiveExcessTotal,omitempty"`

	// Bindings are the bindings whose (non-baseline) rules were scored.
	Bindings      []rbac.BindingRef `json:"bindings,omitempty"`
	BindingsTotal int               `json:"bindingsTotal,omitempty"`
	// BaselineBindings grant what every caller holds; listed, not scored.
	BaselineBindings []rbac.BindingRef `json:"baselineBindings,omitempty"`
	// BaselineRules counts the rules of BaselineBindings.
	BaselineRules int `json:"baselineRules,omitempty"`

	// Drift compares the needs with the grants.
	Drift Drift `json:"drift"`
}

// Evaluate compares grants with observed over resources (as discovery lists
// them) and grades the score with t. It builds a Catalog on every call; a
// caller evaluating many subjects builds one with NewCatalog and calls its
// Evaluate.
func Evaluate(grants []rbac.Grant, observed []v1alpha1.ObservedRule, resources []APIResource, t Thresholds) Result {
	return NewCatalog(resources).Evaluate(grants, observed, t)
}

// Atom marks.
const (
	touched uint8 = 1 << iota // some observed request, allowed or denied, matches
	used                      // some allowed request matches
)

// scopeAtoms are the atoms granted in one scope ("" is cluster-wide).
type scopeAtoms struct {
	full []uint64 // per catalog entry: verbs granted for every object name
	// fullTouched and fullUsed mark the bits of full.
	fullTouched, fullUsed []uint64
	named                 map[namedAtom]*namedState // verbs granted for some names only
}

type namedAtom struct {
	entry int
	verb  uint
}

type namedState struct {
	names map[string]bool
	marks uint8
}

type urlAtom struct{ pattern, verb string }

// atoms is the expanded grant set of one evaluation.
type atoms struct {
	c      *Catalog
	scopes map[string]*scopeAtoms
	urls   map[urlAtom]uint8
}

// createLike verbs on a resource itself carry no object name, so a rule
// restricted to names never allows them; on a subresource the object is
// named ("create serviceaccounts/token" of one account).
var createLike = []string{"create", "deletecollection"}

func (a *atoms) scope(ns string) *scopeAtoms {
	s := a.scopes[ns]
	if s == nil {
		n := len(a.c.entries)
		s = &scopeAtoms{full: make([]uint64, n), fullTouched: make([]uint64, n), fullUsed: make([]uint64, n)}
		a.scopes[ns] = s
	}
	return s
}

// add expands one grant. Rules with nonResourceURLs count only cluster-wide:
// Kubernetes ignores them in RoleBindings, as it ignores cluster-scoped
// resources there.
func (a *atoms) add(g rbac.Grant) {
	r := &g.Rule
	if len(r.NonResourceURLs) > 0 && g.Namespace == "" {
		verbs := r.Verbs
		for _, v := range verbs {
			if v == "*" {
				verbs = nonResourceVerbs
				break
			}
		}
		for _, u := range r.NonResourceURLs {
			for _, v := range verbs {
				a.urls[urlAtom{u, v}] = 0
			}
		}
	}
	if len(r.Resources) == 0 || len(r.APIGroups) == 0 {
		return
	}
	ruleMask := a.c.mask(r.Verbs)
	if ruleMask == 0 {
		return
	}
	var nameless uint64
	if len(r.ResourceNames) > 0 {
		nameless = a.c.mask(createLike)
	}
	s := a.scope(g.Namespace)
	a.c.candidates(r.APIGroups, r.Resources, func(i int) {
		e := &a.c.entries[i]
		if g.Namespace != "" && !e.rbacNamespaced {
			return
		}
		m := e.verbs & ruleMask
		if e.sub == "" {
			m &^= nameless
		}
		if m == 0 {
			return
		}
		if len(r.ResourceNames) == 0 {
			s.full[i] |= m
			return
		}
		if s.named == nil {
			s.named = map[namedAtom]*namedState{}
		}
		for ; m != 0; m &= m - 1 {
			k := namedAtom{i, uint(bits.TrailingZeros64(m))}
			st := s.named[k]
			if st == nil {
				st = &namedState{names: map[string]bool{}}
				s.named[k] = st
			}
			for _, n := range r.ResourceNames {
				st.names[n] = true
			}
		}
	})
}

// reduce drops atoms a broader atom already grants: a namespace's atom when
// the same verb is granted in every namespace, a name-restricted atom when
// the verb is granted for every name, a URL pattern another covers.
func (a *atoms) reduce() {
	cluster := a.scopes[""]
	for ns, s := range a.scopes {
		if ns != "" && cluster != nil {
			for i := range s.full {
				s.full[i] &^= cluster.full[i]
			}
		}
		for k := range s.named {
			bit := uint64(1) << k.verb
			if s.full[k.entry]&bit != 0 || (cluster != nil && cluster.full[k.entry]&bit != 0) {
				delete(s.named, k)
			}
		}
	}
	for u := range a.urls {
		for o := range a.urls {
			// Of two patterns that cover each other ("/a*", "/a**") the
			// smaller stays.
			if o != u && o.verb == u.verb && patternCovers(o.pattern, u.pattern) &&
				(!patternCovers(u.pattern, o.pattern) || o.pattern < u.pattern) {
				delete(a.urls, u)
				break
			}
		}
	}
}

// patternCovers reports whether URL pattern o matches every URL pattern u
// matches.
func patternCovers(o, u string) bool {
	if !strings.HasSuffix(o, "*") {
		return o == u
	}
	return strings.HasPrefix(u, strings.TrimRight(o, "*"))
}

// mark records that an observed request matches the atoms it exercises.
func (a *atoms) mark(o *v1alpha1.ObservedRule, m uint8) {
	if o.NonResourceURL != "" {
		for u := range a.urls {
			if u.verb == o.Verb && urlCovers(u.pattern, o.NonResourceURL) {
				a.urls[u] |= m
			}
		}
		return
	}
	i, ok := a.c.lookup(o.APIGroup, o.Resource)
	if !ok {
		return
	}
	b, ok := a.c.verbBit[o.Verb]
	if !ok {
		return
	}
	// A request in a namespace exercises that namespace's atoms and those
	// granted in every namespace.
	a.markIn("", i, b, o.ResourceNames, m)
	if o.Namespace != "" {
		a.markIn(o.Namespace, i, b, o.ResourceNames, m)
	}
	// The API server authorizes a request on namespace X as a request in X,
	// so a RoleBinding in X may have allowed it.
	if isNamespaceObject(o.APIGroup, o.Resource) {
		for k, name := range o.ResourceNames {
			if name != o.Namespace {
				a.markIn(name, i, b, o.ResourceNames[k:k+1], m)
			}
		}
	}
}

// markIn marks the atoms of scope ns that a request of verb bit b on catalog
// entry i, naming names, exercises.
func (a *atoms) markIn(ns string, i int, b uint, names []string, m uint8) {
	s := a.scopes[ns]
	if s == nil {
		return
	}
	if bit := uint64(1) << b; s.full[i]&bit != 0 {
		s.fullTouched[i] |= bit
		if m&used != 0 {
			s.fullUsed[i] |= bit
		}
	}
	if st := s.named[namedAtom{i, b}]; st != nil && namesMeet(st.names, names) {
		st.marks |= m
	}
}

// isNamespaceObject reports whether a request is on a Namespace object or
// one of its subresources.
func isNamespaceObject(group, resource string) bool {
	base, _, _ := strings.Cut(resource, "/")
	return group == "" && base == "namespaces"
}

// namesMeet reports whether observed names may be among granted ones. No
// observed names means they are unknown (not kept, or too many): the
// request matched, so it counts.
func namesMeet(granted map[string]bool, observed []string) bool {
	if len(observed) == 0 {
		return true
	}
	for _, n := range observed {
		if granted[n] {
			return true
		}
	}
	return false
}

func urlCovers(pattern, url string) bool {
	return pattern == url || pattern == "*" ||
		(strings.HasSuffix(pattern, "*") && strings.HasPrefix(url, strings.TrimRight(pattern, "*")))
}

// Evaluate compares grants with observed; see the package function.
func (c *Catalog) Evaluate(grants []rbac.Grant, observed []v1alpha1.ObservedRule, t Thresholds) Result {
	var res Result
	a := &atoms{c: c, scopes: map[string]*scopeAtoms{}, urls: map[urlAtom]uint8{}}
	var bindings, baseline []rbac.BindingRef
	for _, g := range grants {
		if g.Baseline {
			baseline = append(baseline, g.Binding)
			res.BaselineRules++
			continue
		}
		bindings = append(bindings, g.Binding)
		a.add(g)
	}
	a.reduce()

	var uncovered []ScopedRule
	for i := range observed {
		o := &observed[i]
		m := touched
		if o.Count-o.DeniedCount > 0 {
			m |= used
		}
		a.mark(o, m)
		if rest, ok := uncoveredPart(grants, o); !ok {
			res.Uncovered++
			uncovered = append(uncovered, rest)
		}
	}

	a.collect(&res)
	res.Excess = res.Granted - res.Used
	res.Score = 100
	if res.Granted > 0 {
		res.Score = 100 * res.Used / res.Granted
	}
	res.Severity = t.Severity(res.Score)

	uncovered = mergeRules(uncovered)
	res.UncoveredRules, res.UncoveredRulesTotal = capped(uncovered)
	res.Bindings, res.BindingsTotal = capped(sortRefs(bindings))
	res.BaselineBindings, _ = capped(sortRefs(baseline))
	res.Drift.Missing, res.Drift.MissingTotal = res.UncoveredRules, res.UncoveredRulesTotal
	return res
}

func capped[T any](s []T) ([]T, int) {
	if len(s) > MaxEntries {
		return s[:MaxEntries:MaxEntries], len(s)
	}
	return s, len(s)
}

func sortRefs(refs []rbac.BindingRef) []rbac.BindingRef {
	sort.Slice(refs, func(i, j int) bool { return refs[i].Less(refs[j]) })
	out := refs[:0]
	for i, r := range refs {
		if i == 0 || r != refs[i-1] {
			out = append(out, r)
		}
	}
	return out
}

// bounded keeps the first MaxEntries items added and counts them all.
type bounded[T any] struct {
	items []T
	total int
}

// room counts one more item and reports whether it is to be kept.
func (b *bounded[T]) room() bool {
	b.total++
	return len(b.items) < MaxEntries
}

// collect counts granted and used atoms into res and lists the unused atoms
// (excess), the never-requested ones (drift excess) and the sensitive lines
// of the excess. It walks scopes ("" first), then catalog entries (sorted by
// group and resource) with the unrestricted atoms before the name-restricted
// ones, then the URLs of the cluster-wide scope: the lists come out in
// ruleLess order, and only the kept entries are built.
func (a *atoms) collect(res *Result) {
	c := a.c
	var excess, drift bounded[ScopedRule]
	var sensitive bounded[string]
	emit := func(ns string, i int, unused, untouched uint64, names []string) {
		if unused != 0 {
			if excess.room() {
				excess.items = append(excess.items, c.rule(ns, i, unused, names))
			}
			if c.isSensitive(i, unused) && sensitive.room() {
				sensitive.items = append(sensitive.items, c.sensitive(ns, i, unused, names))
			}
		}
		if untouched != 0 && drift.room() {
			drift.items = append(drift.items, c.rule(ns, i, untouched, names))
		}
	}

	scopes := make([]string, 0, len(a.scopes)+1)
	for ns := range a.scopes {
		scopes = append(scopes, ns)
	}
	if _, ok := a.scopes[""]; !ok {
		scopes = append(scopes, "") // for the URLs
	}
	sort.Strings(scopes)
	for _, ns := range scopes {
		if s := a.scopes[ns]; s != nil {
			a.collectScope(res, ns, s, emit)
		}
		if ns == "" {
			a.collectURLs(res, &excess, &drift)
		}
	}
	res.ExcessRules, res.ExcessRulesTotal = excess.items, excess.total
	res.Drift.Excess, res.Drift.ExcessTotal = drift.items, drift.total
	res.SensitiveExcess, res.SensitiveExcessTotal = sensitive.items, sensitive.total
}

func (a *atoms) collectScope(res *Result, ns string, s *scopeAtoms, emit func(ns string, i int, unused, untouched uint64, names []string)) {
	// Name-restricted atoms by entry, so each entry's rules come together.
	var named map[int][]namedAtom
	if len(s.named) > 0 {
		named = map[int][]namedAtom{}
		for k := range s.named {
			named[k.entry] = append(named[k.entry], k)
		}
	}
	for i, full := range s.full {
		if full != 0 {
			res.Granted += bits.OnesCount64(full)
			res.Used += bits.OnesCount64(s.fullUsed[i])
			emit(ns, i, full&^s.fullUsed[i], full&^s.fullTouched[i], nil)
		}
		if len(named[i]) == 0 {
			continue
		}
		// Group the entry's restricted atoms by their name sets.
		type group struct {
			names             []string
			unused, untouched uint64
		}
		groups := map[string]*group{}
		var keys []string
		for _, k := range named[i] {
			st := s.named[k]
			names := make([]string, 0, len(st.names))
			for n := range st.names {
				names = append(names, n)
			}
			sort.Strings(names)
			key := strings.Join(names, "\x00")
			gr := groups[key]
			if gr == nil {
				gr = &group{names: names}
				groups[key] = gr
				keys = append(keys, key)
			}
			res.Granted++
			if st.marks&used != 0 {
				res.Used++
			} else {
				gr.unused |= 1 << k.verb
			}
			if st.marks&touched == 0 {
				gr.untouched |= 1 << k.verb
			}
		}
		sort.Strings(keys)
		for _, key := range keys {
			gr := groups[key]
			emit(ns, i, gr.unused, gr.untouched, gr.names)
		}
	}
}

// collectURLs counts the non-resource URL atoms and lists the unused and
// never-requested ones by pattern, verbs merged.
func (a *atoms) collectURLs(res *Result, excess, drift *bounded[ScopedRule]) {
	urls := make([]urlAtom, 0, len(a.urls))
	for u := range a.urls {
		urls = append(urls, u)
	}
	sort.Slice(urls, func(i, j int) bool {
		if urls[i].pattern != urls[j].pattern {
			return urls[i].pattern < urls[j].pattern
		}
		return urls[i].verb < urls[j].verb
	})
	// open is the pattern of the list's last rule, "" when that pattern's
	// rule was not kept (past MaxEntries) or there is none yet.
	type list struct {
		b          *bounded[ScopedRule]
		last, open string
	}
	add := func(l *list, u urlAtom) {
		if l.last == u.pattern {
			if l.open == u.pattern {
				n := len(l.b.items)
				l.b.items[n-1].Verbs = append(l.b.items[n-1].Verbs, u.verb)
			}
			return
		}
		l.last, l.open = u.pattern, ""
		if l.b.room() {
			l.open = u.pattern
			l.b.items = append(l.b.items, ScopedRule{PolicyRule: rbacv1.PolicyRule{NonResourceURLs: []string{u.pattern}, Verbs: []string{u.verb}}})
		}
	}
	lx, ld := &list{b: excess, last: "\x00"}, &list{b: drift, last: "\x00"}
	for _, u := range urls {
		m := a.urls[u]
		res.Granted++
		if m&used != 0 {
			res.Used++
		} else {
			add(lx, u)
		}
		if m&touched == 0 {
			add(ld, u)
		}
	}
}

// rule renders verbs of entry i in scope ns as a ScopedRule.
func (c *Catalog) rule(ns string, i int, verbs uint64, names []string) ScopedRule {
	e := &c.entries[i]
	return ScopedRule{Namespace: ns, PolicyRule: rbacv1.PolicyRule{
		APIGroups: []string{e.group}, Resources: []string{e.resource},
		ResourceNames: names, Verbs: c.verbList(verbs),
	}}
}

package pipeline

import (
	"fmt"
	"regexp"

	"github.com/audicia/audicia/api/v1alpha1"
)

// filterRule is a compiled v1alpha1.FilterRule; a nil expression matches anything.
type filterRule struct {
	allow                                  bool
	user, group, namespace, verb, resource *regexp.Regexp
}

// filterChain decides, first match wins, whether a request is kept.
type filterChain []filterRule

// compileFilters compiles the rules, anchoring each expression. An invalid
// expression is reported with the field that holds it, as `filters[2].user`.
func compileFilters(rules []v1alpha1.FilterRule) (filterChain, error) {
	chain := make(filterChain, 0, len(rules))
	for i, r := range rules {
		var err error
		compile := func(field, expr string) *regexp.Regexp {
			if expr == "" || err != nil {
				return nil
			}
			re, cerr := regexp.Compile(`^(?:` + expr + `)$`)
			if cerr != nil {
				err = fmt.Errorf("filters[%d].%s: invalid regular expression %q: %w", i, field, expr, cerr)
			}
			return re
		}
		c := filterRule{
			user:      compile("user", r.User),
			group:     compile("group", r.Group),
			namespace: compile("namespace", r.Namespace),
			verb:      compile("verb", r.Verb),
			resource:  compile("resource", r.Resource),
		}
		if err != nil {
			return nil, err
		}
		switch r.Action {
		case v1alpha1.FilterActionAllow:
			c.allow = true
		case v1alpha1.FilterActionDeny:
		default:
			return nil, fmt.Errorf("filters[%d].action: must be %q or %q, not %q", i, v1alpha1.FilterActionAllow, v1alpha1.FilterActionDeny, r.Action)
		}
		if c.user == nil && c.group == nil && c.namespace == nil && c.verb == nil && c.resource == nil {
			return nil, fmt.Errorf("filters[%d]: needs at least one of user, group, namespace, verb or resource", i)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// allows applies the chain to a request for the atom; no match keeps it.
func (c filterChain) allows(user string, groups []string, a *Atom) bool {
	resource := a.Resource
	if a.NonResourceURL != "" {
		resource = a.NonResourceURL
	}
	for i := range c {
		f := &c[i]
		if matches(f.user, user) && matchesAny(f.group, groups) && matches(f.namespace, a.Namespace) &&
			matches(f.verb, a.Verb) && matches(f.resource, resource) {
			return f.allow
		}
	}
	return true
}

func matches(re *regexp.Regexp, s string) bool { return re == nil || re.MatchString(s) }

func matchesAny(re *regexp.Regexp, values []string) bool {
	if re == nil {
		return true
	}
	for _, v := range values {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// allowsUser applies the chain to a user who made no request: the first
// rule that names only the user decides, since rules on groups, namespaces,
// verbs or resources need a request to judge; no such rule keeps the user.
func (c filterChain) allowsUser(user string) bool {
	for i := range c {
		f := &c[i]
		if f.user != nil && f.group == nil && f.namespace == nil && f.verb == nil && f.resource == nil && f.user.MatchString(user) {
			return f.allow
		}
	}
	return true
}

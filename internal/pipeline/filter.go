package pipeline

import (
	"errors"
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
		c, field, err := compileFilter(r)
		switch {
		case err != nil && field != "":
			return nil, fmt.Errorf("filters[%d].%s: %w", i, field, err)
		case err != nil:
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// CheckFilter reports what is wrong with one filter rule, naming the field
// (`user: invalid regular expression ...`); nil when it compiles.
func CheckFilter(r v1alpha1.FilterRule) error {
	_, field, err := compileFilter(r)
	if err != nil && field != "" {
		return fmt.Errorf("%s: %w", field, err)
	}
	return err
}

// compileFilter compiles one rule; on error, field names the field at
// fault, or is empty when the rule as a whole is.
func compileFilter(r v1alpha1.FilterRule) (c filterRule, field string, err error) {
	compile := func(name, expr string) *regexp.Regexp {
		if expr == "" || err != nil {
			return nil
		}
		re, cerr := regexp.Compile(`^(?:` + expr + `)$`)
		if cerr != nil {
			field, err = name, fmt.Errorf("invalid regular expression %q: %w", expr, cerr)
		}
		return re
	}
	c = filterRule{
		user:      compile("user", r.User),
		group:     compile("group", r.Group),
		namespace: compile("namespace", r.Namespace),
		verb:      compile("verb", r.Verb),
		resource:  compile("resource", r.Resource),
	}
	if err != nil {
		return c, field, err
	}
	switch r.Action {
	case v1alpha1.FilterActionAllow:
		c.allow = true
	case v1alpha1.FilterActionDeny:
	default:
		return c, "action", fmt.Errorf("must be %q or %q, not %q", v1alpha1.FilterActionAllow, v1alpha1.FilterActionDeny, r.Action)
	}
	if c.user == nil && c.group == nil && c.namespace == nil && c.verb == nil && c.resource == nil {
		return c, "", errors.New("needs at least one of user, group, namespace, verb or resource")
	}
	return c, "", nil
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

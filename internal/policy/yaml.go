package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// yamlWriter emits the four RBAC kinds as YAML directly. A general encoder
// goes through JSON and a YAML document tree per object, which is most of
// the time of an analysis with thousands of subjects; these objects have a
// fixed, small shape, so writing it is simple. Keys come in sorted order and
// only set fields are written, as a general encoder would. All documents of
// a manifest go into one buffer, piece by piece: a subject can have
// thousands of objects, and joining strings per line or per document would
// allocate for each.
type yamlWriter struct {
	b strings.Builder
}

func (w *yamlWriter) object(obj client.Object) error {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		w.header("ClusterRole", &o.ObjectMeta)
		w.rules(o.Rules)
	case *rbacv1.Role:
		w.header("Role", &o.ObjectMeta)
		w.rules(o.Rules)
	case *rbacv1.ClusterRoleBinding:
		w.header("ClusterRoleBinding", &o.ObjectMeta)
		w.binding(o.RoleRef, o.Subjects)
	case *rbacv1.RoleBinding:
		w.header("RoleBinding", &o.ObjectMeta)
		w.binding(o.RoleRef, o.Subjects)
	default:
		return fmt.Errorf("render: %T is not an RBAC Role, ClusterRole or binding", obj)
	}
	return nil
}

// spaces serves indentation; the deepest is a few levels.
const spaces = "        "

// line writes `key: value`, or `key:` when value is empty, indented. prefix
// comes before the key: the "- " that starts a list item, or nothing.
func (w *yamlWriter) line(indent int, prefix, key, value string) {
	w.b.WriteString(spaces[:indent])
	w.b.WriteString(prefix)
	w.b.WriteString(key)
	w.b.WriteByte(':')
	if value != "" {
		w.b.WriteByte(' ')
		w.b.WriteString(value)
	}
	w.b.WriteByte('\n')
}

func (w *yamlWriter) header(kind string, meta *metav1.ObjectMeta) {
	w.line(0, "", "apiVersion", rbacv1.SchemeGroupVersion.String())
	w.line(0, "", "kind", kind)
	w.line(0, "", "metadata", "")
	w.stringMap(2, "annotations", meta.Annotations)
	w.stringMap(2, "labels", meta.Labels)
	w.line(2, "", "name", scalar(meta.Name))
	if meta.Namespace != "" {
		w.line(2, "", "namespace", scalar(meta.Namespace))
	}
}

func (w *yamlWriter) stringMap(indent int, key string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	w.line(indent, "", key, "")
	if len(m) == 1 { // what Audicia writes: nothing to sort
		for k, v := range m {
			w.line(indent+2, "", scalar(k), scalar(v))
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.line(indent+2, "", scalar(k), scalar(m[k]))
	}
}

// list writes a sequence of scalars under key; the first item of a rule
// carries the rule's "- " marker.
func (w *yamlWriter) list(first *bool, key string, items []string) {
	if len(items) == 0 {
		return
	}
	if *first {
		w.line(0, "- ", key, "")
		*first = false
	} else {
		w.line(2, "", key, "")
	}
	for _, it := range items {
		w.b.WriteString("  - ")
		w.b.WriteString(scalar(it))
		w.b.WriteByte('\n')
	}
}

func (w *yamlWriter) rules(rules []rbacv1.PolicyRule) {
	if len(rules) == 0 {
		w.line(0, "", "rules", "[]")
		return
	}
	w.line(0, "", "rules", "")
	for _, r := range rules {
		first := true
		w.list(&first, "apiGroups", r.APIGroups)
		w.list(&first, "nonResourceURLs", r.NonResourceURLs)
		w.list(&first, "resourceNames", r.ResourceNames)
		w.list(&first, "resources", r.Resources)
		w.list(&first, "verbs", r.Verbs)
	}
}

func (w *yamlWriter) binding(ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
	w.line(0, "", "roleRef", "")
	w.line(2, "", "apiGroup", scalar(ref.APIGroup))
	w.line(2, "", "kind", scalar(ref.Kind))
	w.line(2, "", "name", scalar(ref.Name))
	if len(subjects) == 0 {
		return
	}
	w.line(0, "", "subjects", "")
	for _, s := range subjects {
		prefix := "- "
		field := func(key, value string) {
			if value != "" {
				w.line(0, prefix, key, scalar(value))
				prefix = "  "
			}
		}
		field("apiGroup", s.APIGroup)
		field("kind", s.Kind)
		field("name", s.Name)
		field("namespace", s.Namespace)
	}
}

// isPlainScalar reports strings YAML reads back as the same string without
// quotes: they start with a letter, digit or slash, hold only letters, digits
// and `._/@+-`, and have a colon or space only between two such characters.
func isPlainScalar(s string) bool {
	if s == "" || !(isAlnum(s[0]) || s[0] == '/') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c) || c == '.' || c == '_' || c == '/' || c == '@' || c == '+' || c == '-':
		case c == ':' || c == ' ':
			if i+1 == len(s) || s[i+1] == ':' || s[i+1] == ' ' || s[i-1] == ':' || s[i-1] == ' ' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// scalar renders a string value, quoting it where YAML would otherwise read
// something else: empty strings, `*`, booleans, nulls and numbers. Single
// quotes serve printable text without quotes; anything else gets a
// double-quoted string with escapes.
func scalar(s string) string {
	special := yamlSpecial(s)
	switch {
	case isPlainScalar(s) && !special:
		return s
	case s != "" && !special && isPrintableASCII(s) && !strings.ContainsAny(s, "'\\"):
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// yamlSpecial reports strings a YAML 1.1 or 1.2 reader turns into a non-string.
func yamlSpecial(s string) bool {
	if s == "" {
		return false
	}
	if len(s) <= 5 {
		switch strings.ToLower(s) {
		case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~":
			return true
		}
	}
	if c := s[0]; !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
		return false
	}
	digits := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseFloat(digits, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(digits, 0, 64); err == nil {
		return true
	}
	return isSexagesimal(s)
}

// isSexagesimal matches YAML 1.1 base-60 numbers such as 1:30.
func isSexagesimal(s string) bool {
	for _, part := range strings.Split(s, ":") {
		if part == "" {
			return false
		}
		if _, err := strconv.Atoi(part); err != nil {
			return false
		}
	}
	return true
}

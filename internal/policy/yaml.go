package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The append functions write the four RBAC kinds as YAML directly. A general
// encoder goes through JSON and a YAML document tree per object, which is
// most of the time of an analysis with thousands of subjects; these objects
// have a fixed, small shape, so writing it is simple. Keys come in sorted
// order and only set fields are written, as a general encoder would.
//
// A manifest is written in tens of thousands of small pieces, all appended
// to one buffer held in a local variable: joining strings per line or per
// document would allocate for each, and even a strings.Builder stores its
// buffer, a pointer the garbage collector watches, at every write.

// buffers hold manifests while they are written: a manifest's size is not
// known until it is, so each is copied out at its size and its buffer kept
// for the next, unless it grew beyond maxPooledBuffer, which a few huge
// subjects would otherwise keep allocated.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuffer = 4 << 20

// render returns what write appends to an empty buffer.
func render(write func(b []byte) []byte) string {
	bp := buffers.Get().(*[]byte)
	b := write((*bp)[:0])
	s := string(b)
	if cap(b) <= maxPooledBuffer {
		*bp = b
		buffers.Put(bp)
	}
	return s
}

func appendObject(b []byte, obj client.Object) ([]byte, error) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		b = appendRules(appendHeader(b, "ClusterRole", &o.ObjectMeta), o.Rules)
	case *rbacv1.Role:
		b = appendRules(appendHeader(b, "Role", &o.ObjectMeta), o.Rules)
	case *rbacv1.ClusterRoleBinding:
		b = appendBinding(appendHeader(b, "ClusterRoleBinding", &o.ObjectMeta), o.RoleRef, o.Subjects)
	case *rbacv1.RoleBinding:
		b = appendBinding(appendHeader(b, "RoleBinding", &o.ObjectMeta), o.RoleRef, o.Subjects)
	default:
		return b, fmt.Errorf("render: %T is not an RBAC Role, ClusterRole or binding", obj)
	}
	return b, nil
}

// spaces serves indentation; the deepest is a few levels.
const spaces = "        "

// appendLine appends `key: value`, or `key:` when value is empty, indented.
// prefix comes before the key: the "- " that starts a list item, or nothing.
func appendLine(b []byte, indent int, prefix, key, value string) []byte {
	b = append(b, spaces[:indent]...)
	b = append(b, prefix...)
	b = append(b, key...)
	b = append(b, ':')
	if value != "" {
		b = append(b, ' ')
		b = append(b, value...)
	}
	return append(b, '\n')
}

// apiVersion of the four kinds, worked out once: it is written in every
// document.
var apiVersion = rbacv1.SchemeGroupVersion.String()

func appendHeader(b []byte, kind string, meta *metav1.ObjectMeta) []byte {
	b = appendTypeMeta(b, kind)
	b = appendMetadata(b, meta)
	return appendNamespace(b, meta.Namespace)
}

func appendTypeMeta(b []byte, kind string) []byte {
	b = appendLine(b, 0, "", "apiVersion", apiVersion)
	return appendLine(b, 0, "", "kind", kind)
}

// appendMetadata appends the metadata up to the namespace, which the objects
// generated for a subject all share.
func appendMetadata(b []byte, meta *metav1.ObjectMeta) []byte {
	b = appendLine(b, 0, "", "metadata", "")
	b = appendStringMap(b, 2, "annotations", meta.Annotations)
	b = appendStringMap(b, 2, "labels", meta.Labels)
	return appendLine(b, 2, "", "name", scalar(meta.Name))
}

// appendNamespace appends the namespace line of a namespaced object.
func appendNamespace(b []byte, ns string) []byte {
	if ns == "" {
		return b
	}
	return appendLine(b, 2, "", "namespace", scalar(ns))
}

func appendStringMap(b []byte, indent int, key string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	b = appendLine(b, indent, "", key, "")
	if len(m) == 1 { // what Audicia writes: nothing to sort
		for k, v := range m {
			b = appendLine(b, indent+2, "", scalar(k), scalar(v))
		}
		return b
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendLine(b, indent+2, "", scalar(k), scalar(m[k]))
	}
	return b
}

// appendList appends a sequence of scalars under key; the first item of a
// rule carries the rule's "- " marker.
func appendList(b []byte, first *bool, key string, items []string) []byte {
	if len(items) == 0 {
		return b
	}
	if *first {
		b = appendLine(b, 0, "- ", key, "")
		*first = false
	} else {
		b = appendLine(b, 2, "", key, "")
	}
	for _, it := range items {
		b = append(b, "  - "...)
		b = append(b, scalar(it)...)
		b = append(b, '\n')
	}
	return b
}

func appendRules(b []byte, rules []rbacv1.PolicyRule) []byte {
	if len(rules) == 0 {
		return appendLine(b, 0, "", "rules", "[]")
	}
	b = appendLine(b, 0, "", "rules", "")
	for i := range rules {
		r := &rules[i]
		first := true
		b = appendList(b, &first, "apiGroups", r.APIGroups)
		b = appendList(b, &first, "nonResourceURLs", r.NonResourceURLs)
		b = appendList(b, &first, "resourceNames", r.ResourceNames)
		b = appendList(b, &first, "resources", r.Resources)
		b = appendList(b, &first, "verbs", r.Verbs)
	}
	return b
}

func appendBinding(b []byte, ref rbacv1.RoleRef, subjects []rbacv1.Subject) []byte {
	b = appendLine(b, 0, "", "roleRef", "")
	b = appendLine(b, 2, "", "apiGroup", scalar(ref.APIGroup))
	b = appendLine(b, 2, "", "kind", scalar(ref.Kind))
	b = appendLine(b, 2, "", "name", scalar(ref.Name))
	if len(subjects) == 0 {
		return b
	}
	b = appendLine(b, 0, "", "subjects", "")
	for _, s := range subjects {
		prefix := "- "
		for _, field := range [...][2]string{{"apiGroup", s.APIGroup}, {"kind", s.Kind}, {"name", s.Name}, {"namespace", s.Namespace}} {
			if field[1] != "" {
				b = appendLine(b, 0, prefix, field[0], scalar(field[1]))
				prefix = "  "
			}
		}
	}
	return b
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
	switch s { // the quoted values most rules have, without building them
	case "": // the core API group
		return `""`
	case rbacv1.VerbAll:
		return "'*'"
	}
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

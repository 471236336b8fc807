package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/audicia/audicia/api/v1alpha1"
)

const (
	// maxLabelLength is the DNS-1123 label limit, which report names and
	// generated object names must respect whatever the username looks like.
	maxLabelLength = 63
	// hashLength hex digits keep slugs unique when sanitizing maps different
	// names ("a+b", "a-b") to the same text.
	hashLength = 10
)

// SubjectSlug returns a DNS-1123 label that identifies the subject:
// "<sa|user|group>-<sanitized name>-<hash>". The hash covers kind, namespace and
// name, so two subjects never share a slug even when their sanitized names do.
func SubjectSlug(s v1alpha1.Subject) string {
	prefix := kindPrefix(s.Kind)
	readable := s.Name
	if s.Kind == v1alpha1.SubjectKindServiceAccount {
		readable = s.Namespace + "-" + s.Name
	}
	room := maxLabelLength - len(prefix) - hashLength - 2
	readable = strings.Trim(truncate(sanitize(readable), room), "-")
	if readable == "" {
		return prefix + "-" + subjectHash(s)
	}
	return prefix + "-" + readable + "-" + subjectHash(s)
}

// ObjectName is the name of the Role, ClusterRole and bindings generated for
// the subject. The prefix makes them easy to find and tell apart from
// hand-written RBAC.
func ObjectName(s v1alpha1.Subject) string {
	return "audicia-" + SubjectSlug(s)
}

func kindPrefix(k v1alpha1.SubjectKind) string {
	switch k {
	case v1alpha1.SubjectKindServiceAccount:
		return "sa"
	case v1alpha1.SubjectKindUser:
		return "user"
	case v1alpha1.SubjectKindGroup:
		return "group"
	default:
		return "subject"
	}
}

func subjectHash(s v1alpha1.Subject) string {
	sum := sha256.Sum256([]byte(string(s.Kind) + "\x00" + s.Namespace + "\x00" + s.Name))
	return hex.EncodeToString(sum[:hashLength/2])
}

// sanitize lower-cases s and turns every run of characters outside [a-z0-9]
// into a single "-", trimmed at both ends.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// truncate is byte-based: sanitize leaves only ASCII.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

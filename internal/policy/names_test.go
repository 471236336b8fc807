package policy_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

func sa(ns, name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}
}

func user(name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: name}
}

func group(name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: name}
}

func TestSubjectSlugShape(t *testing.T) {
	tests := []struct {
		subject v1alpha1.Subject
		pattern string
	}{
		{sa("shop", "web"), `^sa-shop-web-[0-9a-f]{10}$`},
		{user("alice@corp.com"), `^user-alice-corp-com-[0-9a-f]{10}$`},
		{user("Alice"), `^user-alice-[0-9a-f]{10}$`},
		{user("a+b"), `^user-a-b-[0-9a-f]{10}$`},
		{user("--x__y--"), `^user-x-y-[0-9a-f]{10}$`},
		{user("@@@"), `^user-[0-9a-f]{10}$`},
		{user("日本語"), `^user-[0-9a-f]{10}$`},
		{user("josé.garcía"), `^user-jos-garc-a-[0-9a-f]{10}$`},
		{group("system:masters"), `^group-system-masters-[0-9a-f]{10}$`},
		{v1alpha1.Subject{Kind: "Robot", Name: "r2"}, `^subject-r2-[0-9a-f]{10}$`},
	}
	for _, tt := range tests {
		t.Run(tt.subject.String(), func(t *testing.T) {
			assert.Regexp(t, regexp.MustCompile(tt.pattern), policy.SubjectSlug(tt.subject))
		})
	}
}

func TestSubjectSlugIsDNS1123Label(t *testing.T) {
	long := strings.Repeat("a", 300)
	subjects := []v1alpha1.Subject{
		user("alice@corp.com"), user("a+b"), user("@@@"), user(""), user("-"), user("日本語"),
		user(long), user(strings.Repeat("x.", 150)), user(strings.Repeat("a", 46) + "-" + strings.Repeat("b", 40)),
		user("UPPER_case name"), user("oidc:https://issuer.example.com#1234"),
		group(long), sa(strings.Repeat("n", 63), strings.Repeat("s", 253)),
		sa("kube-system", "system:serviceaccount:odd"),
	}
	for _, s := range subjects {
		slug := policy.SubjectSlug(s)
		assert.Empty(t, validation.IsDNS1123Label(slug), "slug %q of %s", slug, s)
		assert.LessOrEqual(t, len(slug), 63, s.String())
		assert.Equal(t, slug, policy.SubjectSlug(s), "slug must be stable")
	}
}

func TestSubjectSlugTruncatesLongNames(t *testing.T) {
	slug := policy.SubjectSlug(user(strings.Repeat("a", 300)))
	assert.Len(t, slug, 63)
	assert.Regexp(t, `^user-a+-[0-9a-f]{10}$`, slug)

	// A cut that lands on a dash must not leave "--" before the hash.
	slug = policy.SubjectSlug(user(strings.Repeat("a", 46) + "." + strings.Repeat("b", 40)))
	assert.NotContains(t, slug, "--")
}

func TestSubjectSlugIsUnique(t *testing.T) {
	pairs := [][2]v1alpha1.Subject{
		{user("a+b"), user("a-b")},
		{user("alice@corp.com"), user("alice.corp.com")},
		{user("Alice"), user("alice")},
		{user("x"), group("x")},
		{sa("a-b", "c"), sa("a", "b-c")},
		{user("@@@"), user("###")},
		{user(strings.Repeat("a", 300)), user(strings.Repeat("a", 301))},
	}
	for _, p := range pairs {
		assert.NotEqual(t, policy.SubjectSlug(p[0]), policy.SubjectSlug(p[1]), "%s vs %s", p[0], p[1])
	}
}

func TestObjectName(t *testing.T) {
	s := sa("shop", "web")
	assert.Equal(t, "audicia-"+policy.SubjectSlug(s), policy.ObjectName(s))
}

package pipeline

import (
	"slices"

	"k8s.io/apiserver/pkg/authentication/serviceaccount"

	"github.com/audicia/audicia/api/v1alpha1"
)

// A subject's live RBAC includes the bindings to its groups, which only its
// audit events tell. The decoders of a stream share one slice among the
// events of a group list, so noting the groups of an event usually costs a
// comparison: the subject remembers the last list noted.

// maxGroupsPerSubject bounds the groups kept per subject.
const maxGroupsPerSubject = 64

// noteGroups adds the groups of a request to the subject's groups.
func (st *subjectState) noteGroups(groups []string) {
	if len(groups) == 0 || sameSlice(st.lastGroups, groups) {
		return
	}
	st.lastGroups = groups
	st.groups = mergeGroups(st.groups, groups)
}

// mergeGroups returns the sorted union of a sorted set and more groups,
// within maxGroupsPerSubject.
func mergeGroups(set, more []string) []string {
	for _, g := range more {
		i, found := slices.BinarySearch(set, g)
		if !found && len(set) < maxGroupsPerSubject {
			set = slices.Insert(set, i, g)
		}
	}
	return set
}

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Track adds a ServiceAccount that holds permissions but made no request
// (yet), so that it gets a report too: every grant of a dormant account is
// excess. Only the filter rules that name nothing but the user apply. It
// reports whether the account is tracked, now or already.
func (p *Pipeline) Track(s v1alpha1.Subject) bool {
	if _, ok := p.store.subjects[s]; ok {
		return true
	}
	if s.Kind != v1alpha1.SubjectKindServiceAccount || !p.filters.allowsUser(serviceaccount.MakeUsername(s.Namespace, s.Name)) {
		return false
	}
	return p.store.subject(s) != nil
}

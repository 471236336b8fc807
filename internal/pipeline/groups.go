package pipeline

import "slices"

// A subject's live RBAC includes the bindings to its groups, which only its
// audit events tell. The decoder shares one slice among the events of a
// group list, so noting the groups of an event usually costs one comparison.

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

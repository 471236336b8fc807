package pipeline

import (
	"cmp"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

// ruleStats aggregates the requests of one atom.
type ruleStats struct {
	count, denied int64
	first, last   int64
	// names seen, while every request had one and there were few enough;
	// nil once any name is allowed. A short slice costs far less memory than
	// a map, and it is never longer than maxNames.
	names []string
}

// subjectState is everything kept about one subject.
type subjectState struct {
	rules   map[Atom]*ruleStats
	events  int64
	dropped int64
	last    int64
}

// store aggregates requests per subject within fixed bounds.
type store struct {
	subjects    map[v1alpha1.Subject]*subjectState
	maxSubjects int
	maxRules    int
	maxNames    int
}

func newStore(maxSubjects, maxRules, maxNames int) *store {
	return &store{subjects: make(map[v1alpha1.Subject]*subjectState), maxSubjects: maxSubjects, maxRules: maxRules, maxNames: maxNames}
}

// record adds a request to the subject's rules. It returns false when a limit
// dropped the request: a new subject past maxSubjects, or a new rule past
// maxRules (then counted in the subject's dropped requests).
func (s *store) record(subject v1alpha1.Subject, r *request) bool {
	st := s.subjects[subject]
	if st == nil {
		if len(s.subjects) >= s.maxSubjects {
			return false
		}
		st = &subjectState{rules: make(map[Atom]*ruleStats)}
		s.subjects[subject] = st
	}
	rs := st.rules[r.atom]
	if rs == nil {
		if len(st.rules) >= s.maxRules {
			st.dropped++
			return false
		}
		rs = &ruleStats{first: r.at, last: r.at}
		if policy.NamesApply(r.atom.Verb, r.atom.Resource) && r.name != "" {
			rs.names = []string{r.name}
		}
		st.rules[r.atom] = rs
	}
	st.events++
	st.last = max(st.last, r.at)
	rs.count++
	if r.denied {
		rs.denied++
	}
	rs.first = min(rs.first, r.at)
	rs.last = max(rs.last, r.at)
	if rs.names != nil {
		rs.names = addName(rs.names, r.name, s.maxNames)
	}
	return true
}

// addName adds a name to a rule's names; an empty name, or one past the cap,
// makes the rule stand for every name (nil).
func addName(names []string, name string, maxNames int) []string {
	if name == "" {
		return nil
	}
	if slices.Contains(names, name) {
		return names
	}
	if len(names) >= maxNames {
		return nil
	}
	return append(names, name)
}

// forget drops the rules last seen before the cutoff, and subjects left with
// no rules. It returns how many rules it dropped.
func (s *store) forget(cutoff int64) int {
	dropped := 0
	for subject, st := range s.subjects {
		for atom, rs := range st.rules {
			if rs.last < cutoff {
				delete(st.rules, atom)
				dropped++
			}
		}
		if len(st.rules) == 0 {
			delete(s.subjects, subject)
		}
	}
	return dropped
}

// SubjectReport is what the pipeline knows about one subject, in the shape of
// an AudiciaPolicyReport's status.
type SubjectReport struct {
	Subject         v1alpha1.Subject
	Rules           []v1alpha1.ObservedRule
	EventsObserved  int64
	DroppedRequests int64
	LastEventTime   time.Time
}

func (st *subjectState) report(subject v1alpha1.Subject) SubjectReport {
	rules := make([]v1alpha1.ObservedRule, 0, len(st.rules))
	for atom, rs := range st.rules {
		rules = append(rules, v1alpha1.ObservedRule{
			APIGroup:       atom.APIGroup,
			Resource:       atom.Resource,
			NonResourceURL: atom.NonResourceURL,
			Namespace:      atom.Namespace,
			Verb:           atom.Verb,
			ResourceNames:  sortedNames(rs.names),
			Count:          rs.count,
			DeniedCount:    rs.denied,
			FirstSeen:      metav1.NewTime(time.Unix(0, rs.first).UTC()),
			LastSeen:       metav1.NewTime(time.Unix(0, rs.last).UTC()),
		})
	}
	slices.SortFunc(rules, compareRules)
	return SubjectReport{
		Subject:         subject,
		Rules:           rules,
		EventsObserved:  st.events,
		DroppedRequests: st.dropped,
		LastEventTime:   time.Unix(0, st.last).UTC(),
	}
}

func sortedNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(names))
}

func compareRules(a, b v1alpha1.ObservedRule) int {
	return cmp.Or(
		cmp.Compare(a.APIGroup, b.APIGroup),
		cmp.Compare(a.Resource, b.Resource),
		cmp.Compare(a.NonResourceURL, b.NonResourceURL),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Verb, b.Verb),
	)
}

// CompareSubjects orders subjects by kind, namespace and name.
func CompareSubjects(a, b v1alpha1.Subject) int {
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// restore merges a report written earlier back into the store, so that
// counting resumes where it stopped.
func (s *store) restore(r SubjectReport) {
	st := s.subjects[r.Subject]
	if st == nil {
		st = &subjectState{rules: make(map[Atom]*ruleStats, len(r.Rules))}
		s.subjects[r.Subject] = st
	}
	st.events += r.EventsObserved
	st.dropped += r.DroppedRequests
	st.last = max(st.last, r.LastEventTime.UnixNano())
	for _, o := range r.Rules {
		atom := Atom{APIGroup: o.APIGroup, Resource: o.Resource, NonResourceURL: o.NonResourceURL, Namespace: o.Namespace, Verb: o.Verb}
		first, last := o.FirstSeen.UnixNano(), o.LastSeen.UnixNano()
		rs := st.rules[atom]
		if rs == nil {
			rs = &ruleStats{first: first, last: last, names: slices.Clone(o.ResourceNames)}
			st.rules[atom] = rs
		} else if len(o.ResourceNames) == 0 {
			rs.names = nil
		} else {
			for _, n := range o.ResourceNames {
				if rs.names == nil {
					break
				}
				rs.names = addName(rs.names, n, max(s.maxNames, len(o.ResourceNames)))
			}
		}
		rs.count += o.Count
		rs.denied += o.DeniedCount
		rs.first = min(rs.first, first)
		rs.last = max(rs.last, last)
	}
}

package pipeline

import (
	"cmp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

// atomID numbers a distinct Atom. Subjects share atoms (many accounts get
// pods in the same namespace), so each is stored once and subjects keep the
// four-byte number: memory then grows by a few dozen bytes per rule.
type atomID uint32

// atomTable stores each distinct atom once.
type atomTable struct {
	ids   map[Atom]atomID
	atoms []Atom
	// ranks places each atom in the order of compareAtoms, for reports to
	// sort their rules by a number instead of by five strings; worked out
	// again only once atoms were added.
	ranks []int32
}

func newAtomTable() *atomTable { return &atomTable{ids: make(map[Atom]atomID)} }

func (t *atomTable) id(a Atom) atomID {
	if id, ok := t.ids[a]; ok {
		return id
	}
	return t.add(a)
}

// add numbers an atom the table does not hold yet.
func (t *atomTable) add(a Atom) atomID {
	id := atomID(len(t.atoms))
	t.atoms = append(t.atoms, a)
	t.ids[a] = id
	return id
}

// rank returns the atoms' places in the order of compareAtoms. Atoms are
// only ever appended (compactAtoms makes a new table), so ranks worked out
// for as many atoms as there are still hold. After atoms were added they are
// worked out again for all, a sort of the distinct atoms: cheap next to a
// flush of the reports that added them.
func (t *atomTable) rank() []int32 {
	if len(t.ranks) == len(t.atoms) {
		return t.ranks
	}
	byOrder := make([]int32, len(t.atoms))
	for i := range byOrder {
		byOrder[i] = int32(i)
	}
	slices.SortFunc(byOrder, func(a, b int32) int { return compareAtoms(&t.atoms[a], &t.atoms[b]) })
	t.ranks = slices.Grow(t.ranks[:0], len(t.atoms))[:len(t.atoms)]
	for place, id := range byOrder {
		t.ranks[id] = int32(place)
	}
	return t.ranks
}

// ruleStats aggregates the requests of one atom of one subject. It holds no
// pointer, so that the collector does not scan the rules of every subject
// (most of the heap) on every cycle: the names live beside them.
type ruleStats struct {
	// key is the rule's atom plus one; 0 marks an empty slot of the table.
	key uint32
	// nameSet places the rule's names in subjectState.nameSets, counting
	// from 1; 0 when it has none.
	nameSet       int32
	count, denied int64
	first, last   int64
}

func (rs *ruleStats) atom() atomID { return atomID(rs.key - 1) }

// subjectState is everything kept about one subject: its rules, found by
// their atom.
type subjectState struct {
	rules ruleTable
	// nameSets holds the names seen of the rules that have names (see
	// ruleStats.nameSet): while every request had one and there were few
	// enough; nil once any name is allowed.
	nameSets [][]string
	events   int64
	dropped  int64
	last     int64
	// groups the subject was seen in, sorted; lastGroups is the last list
	// noted (see groups.go).
	groups     []string
	lastGroups []string
	// changed is set by every change and cleared by EachChangedReport.
	changed bool
}

func newSubjectState() *subjectState {
	return &subjectState{changed: true}
}

// rule returns the subject's stats for the atom, adding them when there is
// room; nil when maxRules is reached.
func (st *subjectState) rule(id atomID, maxRules int) *ruleStats {
	if rs := st.rules.get(id); rs != nil {
		return rs
	}
	if st.rules.n >= maxRules {
		return nil
	}
	return st.rules.add(id)
}

// names returns the names seen of a rule; nil stands for every name.
func (st *subjectState) names(rs *ruleStats) []string {
	if rs.nameSet == 0 {
		return nil
	}
	return st.nameSets[rs.nameSet-1]
}

// setNames sets the names of a rule; nil stands for every name.
func (st *subjectState) setNames(rs *ruleStats, names []string) {
	if rs.nameSet != 0 {
		st.nameSets[rs.nameSet-1] = names
		return
	}
	if names != nil {
		st.nameSets = append(st.nameSets, names)
		rs.nameSet = int32(len(st.nameSets))
	}
}

// store aggregates requests per subject within fixed bounds.
type store struct {
	atoms       *atomTable
	subjects    map[v1alpha1.Subject]*subjectState
	maxSubjects int
	maxRules    int
	maxNames    int
	// namedGroups are the groups asked for by name; they do not count
	// against maxSubjects.
	namedGroups []v1alpha1.Subject
}

func newStore(maxSubjects, maxRules, maxNames int) *store {
	return &store{atoms: newAtomTable(), subjects: make(map[v1alpha1.Subject]*subjectState),
		maxSubjects: maxSubjects, maxRules: maxRules, maxNames: maxNames}
}

// subject returns the subject's state, adding it when there is room.
func (s *store) subject(subject v1alpha1.Subject) *subjectState {
	if st := s.subjects[subject]; st != nil || s.learned() >= s.maxSubjects {
		return st
	}
	return s.stateOf(subject)
}

// learned returns the number of subjects tracked, not counting the named
// groups, which maxSubjects does not limit.
func (s *store) learned() int {
	n := len(s.subjects)
	if n < s.maxSubjects || n >= s.maxSubjects+len(s.namedGroups) {
		return n
	}
	for _, g := range s.namedGroups {
		if _, ok := s.subjects[g]; ok {
			n--
		}
	}
	return n
}

// stateOf returns the subject's state, adding it whatever maxSubjects says.
func (s *store) stateOf(subject v1alpha1.Subject) *subjectState {
	st := s.subjects[subject]
	if st == nil {
		st = newSubjectState()
		s.subjects[subject] = st
	}
	return st
}

// record adds a request to the rules of the subject whose state is st. It
// returns false when a limit dropped the request: a new subject past
// maxSubjects (st is nil), or a new rule past maxRules (then counted in the
// subject's dropped requests).
func (s *store) record(st *subjectState, r *request) bool {
	if st == nil {
		return false
	}
	st.changed = true
	rs := s.rule(st, r.target)
	if rs == nil {
		st.dropped++
		return false
	}
	if rs.count == 0 {
		rs.first, rs.last = r.at, r.at
		if r.target.namesApply && r.name != "" {
			st.setNames(rs, []string{r.name})
		}
	} else if names := st.names(rs); names != nil {
		// Most requests name an object seen before: nothing changes.
		if more := addName(names, r.name, s.maxNames); len(more) != len(names) {
			st.setNames(rs, more)
		}
	}
	st.events++
	st.last = max(st.last, r.at)
	rs.count++
	if r.denied {
		rs.denied++
	}
	rs.first = min(rs.first, r.at)
	rs.last = max(rs.last, r.at)
	return true
}

// rule returns the subject's stats for the target's atom, as
// subjectState.rule does, numbering the atom first if it has no number yet
// and the subject has room for it. A target not numbered may still name an
// atom the table has (its memo slot was filled again, or the rules were
// restored): a subject at its limit keeps counting the rules it has.
func (s *store) rule(st *subjectState, t *target) *ruleStats {
	if !t.numbered {
		id, known := s.atoms.ids[t.atom]
		if !known {
			if st.rules.n >= s.maxRules {
				return nil // a new atom is a new rule
			}
			id = s.atoms.add(t.atom)
		}
		t.id, t.numbered = id, true
	}
	return st.rule(t.id, s.maxRules)
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

// forget drops the rules last seen before the cutoff, and subjects it left
// with no rules (a tracked account that never made a request stays), then
// rebuilds the atom table from what is left. It returns how many rules it
// dropped.
func (s *store) forget(cutoff int64) int {
	dropped := 0
	for subject, st := range s.subjects {
		expired := 0
		st.rules.each(func(rs *ruleStats) {
			if rs.last < cutoff {
				expired++
			}
		})
		if expired > 0 {
			st.rules.rebuild(len(st.rules.slots), func(rs *ruleStats) (atomID, bool) { return rs.atom(), rs.last >= cutoff })
			st.changed = true
			dropped += expired
			st.keepNameSetsOfRules()
			if st.rules.n == 0 {
				delete(s.subjects, subject)
			}
		}
	}
	if dropped > 0 {
		s.compactAtoms()
	}
	return dropped
}

// keepNameSetsOfRules drops the name sets of rules no longer kept.
func (st *subjectState) keepNameSetsOfRules() {
	sets := st.nameSets
	st.nameSets = nil
	st.rules.each(func(rs *ruleStats) {
		if rs.nameSet != 0 {
			names := sets[rs.nameSet-1]
			rs.nameSet = 0
			st.setNames(rs, names)
		}
	})
}

// compactAtoms renumbers the atoms still in use, so that forgotten rules do
// not keep their atoms forever.
func (s *store) compactAtoms() {
	old := s.atoms
	s.atoms = newAtomTable()
	for _, st := range s.subjects {
		st.rules.rebuild(len(st.rules.slots), func(rs *ruleStats) (atomID, bool) { return s.atoms.id(old.atoms[rs.atom()]), true })
	}
}

// SubjectReport is what the pipeline knows about one subject, in the shape of
// an AudiciaPolicyReport's status.
type SubjectReport struct {
	Subject         v1alpha1.Subject
	Rules           []v1alpha1.ObservedRule
	EventsObserved  int64
	DroppedRequests int64
	LastEventTime   time.Time
	// Groups the subject was seen in, sorted: its bindings to them count.
	Groups []string
}

func (s *store) report(subject v1alpha1.Subject, st *subjectState) SubjectReport {
	ranks := s.atoms.rank()
	order := make([]*ruleStats, 0, st.rules.n)
	st.rules.each(func(rs *ruleStats) { order = append(order, rs) })
	slices.SortFunc(order, func(a, b *ruleStats) int {
		return cmp.Compare(ranks[a.atom()], ranks[b.atom()])
	})
	rules := make([]v1alpha1.ObservedRule, 0, len(order))
	for _, rs := range order {
		atom := s.atoms.atoms[rs.atom()]
		rules = append(rules, v1alpha1.ObservedRule{
			APIGroup:       atom.APIGroup,
			Resource:       atom.Resource,
			NonResourceURL: atom.NonResourceURL,
			Namespace:      atom.Namespace,
			Verb:           atom.Verb,
			ResourceNames:  sortedNames(st.names(rs)),
			Count:          rs.count,
			DeniedCount:    rs.denied,
			FirstSeen:      metav1.NewTime(time.Unix(0, rs.first).UTC()),
			LastSeen:       metav1.NewTime(time.Unix(0, rs.last).UTC()),
		})
	}
	return SubjectReport{
		Subject:         subject,
		Rules:           rules,
		EventsObserved:  st.events,
		DroppedRequests: st.dropped,
		LastEventTime:   time.Unix(0, st.last).UTC(),
		Groups:          slices.Clone(st.groups),
	}
}

func sortedNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	return sorted
}

// compareAtoms orders atoms by API group, resource, URL, namespace and verb.
// It stops at the first field that differs, which cmp.Or, comparing all five
// first, would not.
func compareAtoms(a, b *Atom) int {
	if c := strings.Compare(a.APIGroup, b.APIGroup); c != 0 {
		return c
	}
	if c := strings.Compare(a.Resource, b.Resource); c != 0 {
		return c
	}
	if c := strings.Compare(a.NonResourceURL, b.NonResourceURL); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Verb, b.Verb)
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
// counting resumes where it stopped. Restored rules are not held to maxRules:
// they were within the limit when written.
func (s *store) restore(r SubjectReport) {
	st := s.stateOf(r.Subject)
	st.events += r.EventsObserved
	st.groups = mergeGroups(st.groups, r.Groups)
	st.dropped += r.DroppedRequests
	st.last = max(st.last, r.LastEventTime.UnixNano())
	for _, o := range r.Rules {
		atom := Atom{APIGroup: o.APIGroup, Resource: o.Resource, NonResourceURL: o.NonResourceURL, Namespace: o.Namespace, Verb: o.Verb}
		first, last := o.FirstSeen.UnixNano(), o.LastSeen.UnixNano()
		rs := st.rule(s.atoms.id(atom), st.rules.n+1)
		switch {
		case rs.count == 0:
			rs.first, rs.last = first, last
			st.setNames(rs, slices.Clone(o.ResourceNames))
		case len(o.ResourceNames) == 0:
			st.setNames(rs, nil)
		default:
			names := st.names(rs)
			for _, n := range o.ResourceNames {
				if names == nil {
					break
				}
				names = addName(names, n, max(s.maxNames, len(o.ResourceNames)))
			}
			st.setNames(rs, names)
		}
		rs.count += o.Count
		rs.denied += o.DeniedCount
		rs.first = min(rs.first, first)
		rs.last = max(rs.last, last)
	}
}

package pipeline

import (
	"slices"
	"time"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
)

// Defaults for the bounds a source does not set.
const (
	DefaultMaxSubjects        = 10000
	DefaultMaxRulesPerSubject = 1000
	// DefaultMaxNamesPerRule is how many object names a rule keeps before it
	// stands for every name.
	DefaultMaxNamesPerRule = 32
	// DefaultDedupeWindow is how many recent audit IDs are remembered (up to
	// twice as many): far more than the requests in flight at once.
	DefaultDedupeWindow = 1 << 17
)

// Options configure a Pipeline.
type Options struct {
	// Filters is the ordered filter chain of the source.
	Filters []v1alpha1.FilterRule
	// IgnoreSystemUsers drops `system:*` users other than ServiceAccounts.
	IgnoreSystemUsers bool
	// MigrateDeprecatedGroups rewrites removed API groups to their successors.
	MigrateDeprecatedGroups bool
	// Groups get a report of their own aggregating their members' requests.
	Groups []string
	// MaxSubjects, MaxRulesPerSubject, MaxNamesPerRule and DedupeWindow bound
	// memory; zero means the default.
	MaxSubjects        int
	MaxRulesPerSubject int
	MaxNamesPerRule    int
	DedupeWindow       int
}

// Counters say what happened to the events a pipeline was given. Every
// event lands in exactly one of the counters after Received.
type Counters struct {
	// Received counts events of every stage.
	Received int64
	// Processed counts requests recorded for their subject.
	Processed int64
	// Skipped counts events at a stage that is not counted (RequestReceived,
	// unknown stages).
	Skipped int64
	// Duplicates counts events of a request already counted (its other
	// stage, or a batch delivered twice).
	Duplicates int64
	// Unauthenticated counts requests that failed authentication (401) or
	// carry no user: they hold no permission to learn.
	Unauthenticated int64
	// Refused counts requests refused before authorization: a 403 the
	// authorizer never decided, as when the user may not impersonate whom
	// it asked to. The request's permission is not the user's need, and the
	// event does not say whom it tried to impersonate.
	Refused int64
	// Filtered counts requests dropped by the filters or ignoreSystemUsers.
	Filtered int64
	// Malformed counts events with a verb or target RBAC cannot express.
	Malformed int64
	// Dropped counts requests lost to maxSubjects or maxRulesPerSubject.
	Dropped int64
}

// Pipeline dedupes, filters, normalizes and aggregates audit events. It is
// not safe for concurrent use: one goroutine feeds it.
type Pipeline struct {
	opts       Options
	filters    filterChain
	groups     map[string]bool
	dedupe     *dedupe
	store      *store
	identities map[string]*identity
	counters   Counters
	// recentIdentities and targets remember what recent events' strings
	// came to (see memo.go).
	recentIdentities identityMemo
	targets          targetMemo

	// pos is the position of the event being observed, when positioned;
	// covered holds how far the restored reports had counted (see replay.go).
	pos        v1alpha1.FilePosition
	positioned bool
	covered    map[v1alpha1.Subject]v1alpha1.FilePosition
}

// identity is what a username stands for, worked out once per distinct name
// rather than on every request: the subject, whether it is a system user,
// and its state in the store once it has one.
type identity struct {
	subject v1alpha1.Subject
	system  bool
	state   *subjectState
}

// maxIdentities bounds the memo of identities; a full memo is dropped and
// refilled, so memory stays flat however many usernames a log holds.
const maxIdentities = 1 << 16

// New builds a pipeline. It fails when a filter is invalid, naming the field.
func New(opts Options) (*Pipeline, error) {
	filters, err := compileFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	opts.MaxSubjects = cmpOr(opts.MaxSubjects, DefaultMaxSubjects)
	opts.MaxRulesPerSubject = cmpOr(opts.MaxRulesPerSubject, DefaultMaxRulesPerSubject)
	opts.MaxNamesPerRule = cmpOr(opts.MaxNamesPerRule, DefaultMaxNamesPerRule)
	opts.DedupeWindow = cmpOr(opts.DedupeWindow, DefaultDedupeWindow)
	groups := make(map[string]bool, len(opts.Groups))
	store := newStore(opts.MaxSubjects, opts.MaxRulesPerSubject, opts.MaxNamesPerRule)
	for _, g := range opts.Groups {
		if !groups[g] {
			groups[g] = true
			store.namedGroups = append(store.namedGroups, v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: g})
		}
	}
	return &Pipeline{
		opts:       opts,
		filters:    filters,
		groups:     groups,
		dedupe:     newDedupe(opts.DedupeWindow),
		store:      store,
		identities: make(map[string]*identity),
	}, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Observe feeds one event through the pipeline.
func (p *Pipeline) Observe(ev *audit.Event) {
	p.counters.Received++
	switch ev.Stage {
	case audit.StageResponseComplete, audit.StageResponseStarted, audit.StagePanic:
	default:
		p.counters.Skipped++
		return
	}
	if !ev.AuditID.IsZero() && p.dedupe.seenStage(ev.AuditID, ev.Stage) {
		p.counters.Duplicates++
		return
	}
	user := ev.ActingUser()
	if ev.Code == 401 || user.Username == "" {
		p.counters.Unauthenticated++
		return
	}
	if refusedBeforeAuthorization(ev) {
		p.counters.Refused++
		return
	}
	id := p.identity(user.Username)
	if p.opts.IgnoreSystemUsers && id.system {
		p.counters.Filtered++
		return
	}
	r, ok := p.normalize(ev)
	if !ok {
		p.counters.Malformed++
		return
	}
	if !p.filters.allows(user.Username, user.Groups, &r.target.atom) {
		p.counters.Filtered++
		return
	}
	// A request counted before a restart is in the subject's report already;
	// its groups' reports may have been written earlier and still need it.
	if !p.alreadyCounted(id.subject) && !p.store.record(p.stateOf(id), &r) {
		p.counters.Dropped++
	} else {
		if st := id.state; st != nil {
			st.noteGroups(user.Groups)
		}
		p.counters.Processed++
	}
	if len(p.groups) > 0 {
		p.recordGroups(user.Groups, &r)
	}
}

// normalize reduces an event to the permission it exercised. ok is false for
// an event RBAC cannot express (no verb, a verb RBAC does not know).
func (p *Pipeline) normalize(ev *audit.Event) (request, bool) {
	t := p.targets.target(ev, p.store.atoms, p.opts.MigrateDeprecatedGroups)
	if !t.ok {
		return request{}, false
	}
	r := request{target: t, denied: denied(ev), at: ev.RequestReceivedNanos}
	if ev.HasObjectRef {
		r.name = ev.ObjectRef.Name
	}
	return r, true
}

// recordGroups adds the request to the reports of the opted-in groups the
// user is in, even when the user's own report had no room for it. A group's
// report is extra evidence, so its limits do not count against the request.
// The groups were named, and are few (the API allows 64), so maxSubjects
// neither keeps one out nor counts it: a group's report that could not be
// kept would lose its requests without a trace. A group at
// maxRulesPerSubject counts what it drops in its own report.
func (p *Pipeline) recordGroups(groups []string, r *request) {
	for _, g := range groups {
		group := v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: g}
		if p.groups[g] && !p.alreadyCounted(group) {
			p.store.record(p.store.stateOf(group), r)
		}
	}
}

// identity returns the memoized identity of a username.
func (p *Pipeline) identity(username string) *identity {
	if id := p.recentIdentities.get(username); id != nil {
		return id
	}
	id := p.identities[username]
	if id == nil {
		if len(p.identities) >= maxIdentities {
			clear(p.identities)
			p.recentIdentities = identityMemo{}
		}
		subject := subjectOf(username)
		id = &identity{subject: subject, system: isSystemUser(subject)}
		p.identities[username] = id
	}
	p.recentIdentities.put(username, id)
	return id
}

// stateOf returns the store's state of the identity's subject, adding it
// when there is room; nil when maxSubjects is reached.
func (p *Pipeline) stateOf(id *identity) *subjectState {
	if id.state == nil {
		id.state = p.store.subject(id.subject)
	}
	return id.state
}

// forgetStates drops the states the identities point to, before the store
// deletes subjects; they are looked up again when next needed.
func (p *Pipeline) forgetStates() {
	for _, id := range p.identities {
		id.state = nil
	}
}

// Counters returns the counters so far.
func (p *Pipeline) Counters() Counters { return p.counters }

// Tracks reports whether the pipeline holds the subject: it is not once
// Forget dropped it.
func (p *Pipeline) Tracks(s v1alpha1.Subject) bool {
	_, ok := p.store.subjects[s]
	return ok
}

// Subjects returns the number of subjects tracked.
func (p *Pipeline) Subjects() int { return len(p.store.subjects) }

// Reports returns a report per subject, sorted by kind, namespace and name.
// Its contents are copies: later events do not change them.
func (p *Pipeline) Reports() []SubjectReport {
	reports := make([]SubjectReport, 0, len(p.store.subjects))
	_ = p.EachReport(func(r SubjectReport) error {
		reports = append(reports, r)
		return nil
	})
	return reports
}

// EachReport calls fn with the report of each subject, in the order of
// Reports, building one report at a time so that memory holds only one. It
// stops at the first error fn returns.
func (p *Pipeline) EachReport(fn func(SubjectReport) error) error {
	return p.eachReport(fn, false)
}

// DrainReports is EachReport for a pipeline that is done: it forgets each
// subject once its report is built, so memory shrinks as reports are written,
// and it forgets the audit IDs seen so far.
func (p *Pipeline) DrainReports(fn func(SubjectReport) error) error {
	return p.eachReport(fn, true)
}

func (p *Pipeline) eachReport(fn func(SubjectReport) error, drain bool) error {
	subjects := make([]v1alpha1.Subject, 0, len(p.store.subjects))
	for s := range p.store.subjects {
		subjects = append(subjects, s)
	}
	slices.SortFunc(subjects, CompareSubjects)
	if drain {
		p.forgetStates()
		p.dedupe = newDedupe(p.opts.DedupeWindow)
	}
	for _, s := range subjects {
		r := p.store.report(s, p.store.subjects[s])
		if drain {
			delete(p.store.subjects, s)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// EachChangedReport is EachReport for the subjects that changed since the
// last call (or since they were added), for a writer that keeps the rest.
func (p *Pipeline) EachChangedReport(fn func(SubjectReport) error) error {
	subjects := make([]v1alpha1.Subject, 0)
	for s, st := range p.store.subjects {
		if st.changed {
			subjects = append(subjects, s)
		}
	}
	slices.SortFunc(subjects, CompareSubjects)
	for _, s := range subjects {
		st := p.store.subjects[s]
		st.changed = false
		if err := fn(p.store.report(s, st)); err != nil {
			return err
		}
	}
	return nil
}

// Report returns the report of one subject, if the pipeline tracks it.
func (p *Pipeline) Report(s v1alpha1.Subject) (SubjectReport, bool) {
	st := p.store.subjects[s]
	if st == nil {
		return SubjectReport{}, false
	}
	return p.store.report(s, st), true
}

// Restore merges a report written earlier, so that a restarted pipeline
// continues its counts instead of starting over.
func (p *Pipeline) Restore(r SubjectReport) { p.store.restore(r) }

// Forget drops the rules not seen since the cutoff (the source's retention),
// and the subjects left with none, and returns how many rules it dropped.
func (p *Pipeline) Forget(cutoff time.Time) int {
	p.forgetStates()
	return p.store.forget(cutoff.UnixNano())
}

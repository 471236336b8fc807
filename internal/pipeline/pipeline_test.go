package pipeline

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
)

func sa(ns, name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}
}

func user(name string) v1alpha1.Subject {
	return v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: name}
}

// loadEvents decodes one of the audit logs a real kube-apiserver wrote.
func loadEvents(t testing.TB, name string) []audit.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("../../../shared/testdata", name))
	require.NoError(t, err, "the shared audit logs are expected in ../shared/testdata beside the repository")
	defer f.Close()
	var events []audit.Event
	stats, err := audit.Stream(f, audit.StreamOptions{Workers: 1}, func(batch []audit.Event) {
		events = append(events, batch...)
	})
	require.NoError(t, err)
	require.Zero(t, stats.Malformed)
	return events
}

func run(t testing.TB, opts Options, events []audit.Event) *Pipeline {
	t.Helper()
	p, err := New(opts)
	require.NoError(t, err)
	for i := range events {
		p.Observe(&events[i])
	}
	return p
}

func reportOf(t testing.TB, p *Pipeline, s v1alpha1.Subject) SubjectReport {
	t.Helper()
	for _, r := range p.Reports() {
		if r.Subject == s {
			return r
		}
	}
	require.Failf(t, "no report", "no report for %s", s)
	return SubjectReport{}
}

// rule finds an observed rule by its atom.
func rule(r SubjectReport, a Atom) (v1alpha1.ObservedRule, bool) {
	for _, o := range r.Rules {
		if (Atom{o.APIGroup, o.Resource, o.NonResourceURL, o.Namespace, o.Verb}) == a {
			return o, true
		}
	}
	return v1alpha1.ObservedRule{}, false
}

func TestScenarioLog(t *testing.T) {
	events := loadEvents(t, "kube-apiserver-v1.34-scenario.audit.log")
	p := run(t, Options{IgnoreSystemUsers: true, MigrateDeprecatedGroups: true, Groups: []string{"developers"}}, events)

	c := p.Counters()
	assert.Equal(t, int64(len(events)), c.Received)
	assert.Equal(t, c.Received, c.Processed+c.Skipped+c.Duplicates+c.Unauthenticated+c.Filtered+c.Malformed+c.Dropped, "every event lands in one counter")
	assert.Equal(t, int64(70), c.Skipped, "RequestReceived twins are not counted")
	assert.Equal(t, int64(1), c.Unauthenticated, "the 401 holds no permission")
	assert.Zero(t, c.Malformed)

	web := reportOf(t, p, sa("shop", "web"))
	secrets, ok := rule(web, Atom{Resource: "secrets", Namespace: "shop", Verb: "get"})
	require.True(t, ok, "shop:web was denied reading a secret: %+v", web.Rules)
	assert.Equal(t, secrets.Count, secrets.DeniedCount)
	watch, ok := rule(web, Atom{Resource: "pods", Namespace: "shop", Verb: "watch"})
	require.True(t, ok)
	assert.Equal(t, int64(1), watch.Count, "a watch logs ResponseStarted and ResponseComplete but is one request")
	assert.Zero(t, watch.DeniedCount)

	worker := reportOf(t, p, sa("billing", "worker"))
	_, ok = rule(worker, Atom{NonResourceURL: "/metrics", Verb: "get"})
	assert.True(t, ok, "non-resource URL: %+v", worker.Rules)
	var status bool
	for _, o := range worker.Rules {
		status = status || (o.APIGroup == "example.com" && o.Resource == "widgets/status")
	}
	assert.True(t, status, "custom resource status subresource: %+v", worker.Rules)

	erin := reportOf(t, p, user("erin@example.com"))
	denied, ok := rule(erin, Atom{Resource: "events", Namespace: "shop", Verb: "list"})
	require.True(t, ok, "impersonated requests belong to the impersonated user")
	assert.Equal(t, int64(1), denied.DeniedCount)

	dana := reportOf(t, p, user("dana@example.com"))
	developers := reportOf(t, p, v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: "developers"})
	assert.Equal(t, dana.Rules, developers.Rules, "the opt-in group aggregates its only member")
	for _, o := range dana.Rules {
		assert.Equal(t, o.Count, o.DeniedCount, "every call of dana is denied: the view ClusterRole is empty without a controller")
	}
	for _, r := range p.Reports() {
		assert.False(t, isSystemUser(r.Subject), "system users are ignored: %s", r.Subject)
	}
}

func TestOrderDoesNotMatter(t *testing.T) {
	events := loadEvents(t, "kube-apiserver-v1.34-scenario.audit.log")
	events = append(events, loadEvents(t, "kube-apiserver-v1.34-bootstrap.audit.log")...)
	opts := Options{IgnoreSystemUsers: true, MigrateDeprecatedGroups: true}
	want := run(t, opts, events).Reports()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		assert.Equal(t, want, run(t, opts, events).Reports())
	}
}

func TestRestoreContinuesCounting(t *testing.T) {
	events := loadEvents(t, "kube-apiserver-v1.34-scenario.audit.log")
	opts := Options{MigrateDeprecatedGroups: true}
	whole := run(t, opts, events).Reports()

	half := len(events) / 2
	first := run(t, opts, events[:half])
	second, err := New(opts)
	require.NoError(t, err)
	for _, r := range first.Reports() {
		second.Restore(r)
	}
	for i := range events[half:] {
		second.Observe(&events[half+i])
	}
	got := second.Reports()
	require.Len(t, got, len(whole))
	for i := range whole {
		assert.Equal(t, whole[i].Subject, got[i].Subject)
		assert.Equal(t, whole[i].EventsObserved, got[i].EventsObserved)
		require.Len(t, got[i].Rules, len(whole[i].Rules), "%s", whole[i].Subject)
		for j := range whole[i].Rules {
			w, g := whole[i].Rules[j], got[i].Rules[j]
			assert.Equal(t, w.Count, g.Count)
			assert.Equal(t, w.DeniedCount, g.DeniedCount)
			assert.Equal(t, w.ResourceNames, g.ResourceNames)
		}
	}
}

// ev builds an event that reached the given stage.
func ev(id byte, stage audit.Stage, username, verb string, ref *audit.ObjectRef, code int32) audit.Event {
	e := audit.Event{AuditID: audit.ID{id}, Stage: stage, Verb: verb, User: audit.UserInfo{Username: username}, Code: code,
		RequestReceivedNanos: int64(id) * int64(time.Second)}
	if ref != nil {
		e.HasObjectRef, e.ObjectRef = true, *ref
	} else {
		e.RequestPath = "/healthz"
	}
	return e
}

func TestDedupeCountsEachRequestOnce(t *testing.T) {
	pods := &audit.ObjectRef{Resource: "pods", Namespace: "a"}
	events := []audit.Event{
		ev(1, audit.StageRequestReceived, "u", "get", pods, 0),
		ev(1, audit.StageResponseComplete, "u", "get", pods, 200),
		ev(2, audit.StageResponseStarted, "u", "watch", pods, 200),
		ev(2, audit.StageResponseComplete, "u", "watch", pods, 200),
		ev(3, audit.StagePanic, "u", "list", pods, 500),
		ev(1, audit.StageResponseComplete, "u", "get", pods, 200), // a batch delivered again
	}
	p := run(t, Options{}, events)
	c := p.Counters()
	assert.Equal(t, Counters{Received: 6, Processed: 3, Skipped: 1, Duplicates: 2}, c)
	assert.Equal(t, int64(3), reportOf(t, p, user("u")).EventsObserved)
}

func TestDedupeMemoryIsBounded(t *testing.T) {
	d := newDedupe(100)
	for i := range 1000 {
		assert.False(t, d.seen(audit.ID{byte(i), byte(i >> 8)}))
		assert.LessOrEqual(t, len(d.cur)+len(d.prev), 200)
	}
	assert.True(t, d.seen(audit.ID{byte(999 % 256), byte(999 >> 8)}), "recent IDs are remembered")
	assert.False(t, d.seen(audit.ID{0, 0}), "old IDs are forgotten")
}

func TestNormalize(t *testing.T) {
	tests := map[string]struct {
		event   audit.Event
		migrate bool
		want    request
		ok      bool
	}{
		"subresource": {
			event: audit.Event{Verb: "create", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p"}, Code: 404},
			want:  request{atom: Atom{Resource: "pods/exec", Namespace: "a", Verb: "create"}, name: "p"}, ok: true,
		},
		"non-resource URL keeps the path only": {
			event: audit.Event{Verb: "get", RequestPath: "/healthz"},
			want:  request{atom: Atom{NonResourceURL: "/healthz", Verb: "get"}}, ok: true,
		},
		"extensions deployments move to apps": {
			event:   audit.Event{Verb: "list", HasObjectRef: true, ObjectRef: audit.ObjectRef{APIGroup: "extensions", Resource: "deployments", Subresource: "scale", Namespace: "a"}},
			migrate: true, want: request{atom: Atom{APIGroup: "apps", Resource: "deployments/scale", Namespace: "a", Verb: "list"}}, ok: true,
		},
		"extensions ingresses move to networking, not apps": {
			event:   audit.Event{Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{APIGroup: "extensions", Resource: "ingresses", Namespace: "a"}},
			migrate: true, want: request{atom: Atom{APIGroup: "networking.k8s.io", Resource: "ingresses", Namespace: "a", Verb: "get"}}, ok: true,
		},
		"migration off keeps the group": {
			event: audit.Event{Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{APIGroup: "extensions", Resource: "ingresses", Namespace: "a"}},
			want:  request{atom: Atom{APIGroup: "extensions", Resource: "ingresses", Namespace: "a", Verb: "get"}}, ok: true,
		},
		"a namespace object is cluster-scoped": {
			event: audit.Event{Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "namespaces", Namespace: "shop", Name: "shop"}},
			want:  request{atom: Atom{Resource: "namespaces", Verb: "get"}, name: "shop"}, ok: true,
		},
		"403 without a decision is denied": {
			event: audit.Event{Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "secrets", Namespace: "a"}, Code: 403},
			want:  request{atom: Atom{Resource: "secrets", Namespace: "a", Verb: "get"}, denied: true}, ok: true,
		},
		"403 after an allow decision is an admission refusal, not RBAC": {
			event: audit.Event{Verb: "create", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "pods", Namespace: "a"}, Code: 403, Decision: audit.DecisionAllow},
			want:  request{atom: Atom{Resource: "pods", Namespace: "a", Verb: "create"}}, ok: true,
		},
		"forbid decision is denied": {
			event: audit.Event{Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "pods", Namespace: "a"}, Code: 403, Decision: audit.DecisionForbid},
			want:  request{atom: Atom{Resource: "pods", Namespace: "a", Verb: "get"}, denied: true}, ok: true,
		},
		"unknown verb":               {event: audit.Event{Verb: "frobnicate", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "pods"}}},
		"resource verb on a URL":     {event: audit.Event{Verb: "list", RequestPath: "/healthz"}},
		"object reference, no kind":  {event: audit.Event{Verb: "get", HasObjectRef: true}},
		"non-resource without a URL": {event: audit.Event{Verb: "get"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := normalize(&tt.event, tt.migrate)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestSubjectOf(t *testing.T) {
	tests := map[string]v1alpha1.Subject{
		"system:serviceaccount:shop:web": sa("shop", "web"),
		"system:serviceaccount:shop":     user("system:serviceaccount:shop"),
		"system:serviceaccount:a:b:c":    user("system:serviceaccount:a:b:c"),
		"alice@corp.com":                 user("alice@corp.com"),
		"system:kube-scheduler":          user("system:kube-scheduler"),
	}
	for in, want := range tests {
		assert.Equal(t, want, subjectOf(in), in)
	}
	assert.True(t, isSystemUser(subjectOf("system:node:n1")))
	assert.False(t, isSystemUser(subjectOf("system:serviceaccount:a:b")))
}

func TestIgnoreSystemUsers(t *testing.T) {
	pods := &audit.ObjectRef{Resource: "pods", Namespace: "a"}
	events := []audit.Event{
		ev(1, audit.StageResponseComplete, "system:kube-scheduler", "get", pods, 200),
		ev(2, audit.StageResponseComplete, "system:serviceaccount:a:b", "get", pods, 200),
	}
	on := run(t, Options{IgnoreSystemUsers: true}, events)
	assert.Equal(t, int64(1), on.Counters().Filtered)
	assert.Equal(t, 1, on.Subjects())
	off := run(t, Options{}, events)
	assert.Equal(t, 2, off.Subjects())
}

func TestImpersonatedSystemUserIsJudgedAsActing(t *testing.T) {
	e := ev(1, audit.StageResponseComplete, "admin", "get", &audit.ObjectRef{Resource: "pods", Namespace: "a"}, 200)
	e.Impersonated, e.ImpersonatedUser = true, audit.UserInfo{Username: "system:kube-scheduler"}
	p := run(t, Options{IgnoreSystemUsers: true}, []audit.Event{e})
	assert.Equal(t, int64(1), p.Counters().Filtered)
}

func TestFilters(t *testing.T) {
	pods := func(id byte, username, ns, verb string) audit.Event {
		e := ev(id, audit.StageResponseComplete, username, verb, &audit.ObjectRef{Resource: "pods", Namespace: ns}, 200)
		e.User.Groups = []string{"team-" + ns, "system:authenticated"}
		return e
	}
	events := []audit.Event{
		pods(1, "alice", "dev", "get"),
		pods(2, "alice", "prod", "get"),
		pods(3, "bob", "prod", "delete"),
		pods(4, "alicia", "dev", "list"),
		pods(5, "carol", "kube-system", "get"),
	}
	filters := []v1alpha1.FilterRule{
		{Action: v1alpha1.FilterActionAllow, User: "alice", Namespace: "prod"},  // AND of fields
		{Action: v1alpha1.FilterActionDeny, Namespace: "prod|kube-.*"},          // first match wins
		{Action: v1alpha1.FilterActionDeny, User: "ali", Verb: "get|list"},      // anchored: does not match alice
		{Action: v1alpha1.FilterActionDeny, Group: "team-dev", Resource: "pod"}, // anchored resource
	}
	p := run(t, Options{Filters: filters}, events)
	assert.Equal(t, int64(2), p.Counters().Filtered)
	var got []string
	for _, r := range p.Reports() {
		got = append(got, r.Subject.Name)
	}
	assert.Equal(t, []string{"alice", "alicia"}, got)
	assert.Len(t, reportOf(t, p, user("alice")).Rules, 2)

	p = run(t, Options{Filters: []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, Group: "team-dev"}}}, events)
	assert.Equal(t, int64(2), p.Counters().Filtered, "a group filter matches any of the user's groups")
}

func TestInvalidFiltersNameTheField(t *testing.T) {
	tests := map[string]struct {
		rules []v1alpha1.FilterRule
		want  string
	}{
		"bad regex": {
			rules: []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, User: "ok"}, {Action: v1alpha1.FilterActionDeny, Namespace: "(unclosed"}},
			want:  `filters[1].namespace: invalid regular expression "(unclosed"`,
		},
		"bad action": {rules: []v1alpha1.FilterRule{{Action: "Maybe", User: "x"}}, want: "filters[0].action"},
		"no field":   {rules: []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny}}, want: "filters[0]: needs at least one"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(Options{Filters: tt.rules})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLimitsCountWhatTheyDrop(t *testing.T) {
	var events []audit.Event
	for i := range 10 {
		ref := &audit.ObjectRef{Resource: "pods", Namespace: "a"}
		events = append(events, ev(byte(1+i), audit.StageResponseComplete, string(rune('a'+i%5)), []string{"get", "list", "watch"}[i%3], ref, 200))
	}
	p := run(t, Options{MaxSubjects: 2, MaxRulesPerSubject: 1}, events)
	c := p.Counters()
	assert.Equal(t, 2, p.Subjects())
	assert.Equal(t, int64(10), c.Processed+c.Dropped)
	assert.Equal(t, int64(2), c.Processed)
	var droppedInReports int64
	for _, r := range p.Reports() {
		assert.Len(t, r.Rules, 1)
		droppedInReports += r.DroppedRequests
	}
	assert.Equal(t, int64(2), droppedInReports, "requests of known subjects over maxRules show in their report")
}

func TestResourceNames(t *testing.T) {
	get := func(id byte, name string) audit.Event {
		return ev(id, audit.StageResponseComplete, "u", "get", &audit.ObjectRef{Resource: "configmaps", Namespace: "a", Name: name}, 200)
	}
	list := ev(9, audit.StageResponseComplete, "u", "list", &audit.ObjectRef{Resource: "configmaps", Namespace: "a", Name: "x"}, 200)
	p := run(t, Options{}, []audit.Event{get(1, "b"), get(2, "a"), get(3, "b"), list})
	r := reportOf(t, p, user("u"))
	got, _ := rule(r, Atom{Resource: "configmaps", Namespace: "a", Verb: "get"})
	assert.Equal(t, []string{"a", "b"}, got.ResourceNames)
	got, _ = rule(r, Atom{Resource: "configmaps", Namespace: "a", Verb: "list"})
	assert.Nil(t, got.ResourceNames, "list cannot be restricted by name")

	exec := ev(8, audit.StageResponseComplete, "u", "create", &audit.ObjectRef{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p"}, 101)
	p = run(t, Options{}, []audit.Event{exec})
	got, _ = rule(reportOf(t, p, user("u")), Atom{Resource: "pods/exec", Namespace: "a", Verb: "create"})
	assert.Equal(t, []string{"p"}, got.ResourceNames, "create on a subresource names an existing object")

	p = run(t, Options{}, []audit.Event{get(1, "a"), get(2, "")})
	got, _ = rule(reportOf(t, p, user("u")), Atom{Resource: "configmaps", Namespace: "a", Verb: "get"})
	assert.Nil(t, got.ResourceNames, "a request without a name needs every name")

	p = run(t, Options{MaxNamesPerRule: 2}, []audit.Event{get(1, "a"), get(2, "b"), get(3, "a"), get(4, "c")})
	got, _ = rule(reportOf(t, p, user("u")), Atom{Resource: "configmaps", Namespace: "a", Verb: "get"})
	assert.Nil(t, got.ResourceNames, "past the cap a rule stands for every name")
	assert.Equal(t, int64(4), got.Count)
}

func TestForget(t *testing.T) {
	pods := &audit.ObjectRef{Resource: "pods", Namespace: "a"}
	p := run(t, Options{}, []audit.Event{
		ev(1, audit.StageResponseComplete, "old", "get", pods, 200),
		ev(5, audit.StageResponseComplete, "new", "get", pods, 200),
		ev(2, audit.StageResponseComplete, "new", "list", pods, 200),
	})
	assert.Equal(t, 2, p.Forget(time.Unix(3, 0)))
	reports := p.Reports()
	require.Len(t, reports, 1)
	assert.Equal(t, "new", reports[0].Subject.Name)
	require.Len(t, reports[0].Rules, 1)
	assert.Equal(t, "get", reports[0].Rules[0].Verb, "the atoms left are renumbered correctly")

	list := ev(6, audit.StageResponseComplete, "new", "list", pods, 200)
	get := ev(7, audit.StageResponseComplete, "new", "get", pods, 200)
	p.Observe(&list)
	p.Observe(&get)
	r := reportOf(t, p, user("new"))
	require.Len(t, r.Rules, 2)
	assert.Equal(t, int64(2), r.Rules[0].Count, "get, counted before and after forgetting")
	assert.Equal(t, "list", r.Rules[1].Verb)
}

package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
)

func TestReportsKeepTheGroupsSubjectsWereSeenIn(t *testing.T) {
	pods := &audit.ObjectRef{Resource: "pods", Namespace: "shop"}
	first := ev(1, audit.StageResponseComplete, "alice", "get", pods, 200)
	first.User.Groups = []string{"team-b", "system:authenticated"}
	second := ev(2, audit.StageResponseComplete, "alice", "list", pods, 200)
	second.User.Groups = []string{"team-a", "system:authenticated"}
	p := run(t, Options{}, []audit.Event{first, second})
	assert.Equal(t, []string{"system:authenticated", "team-a", "team-b"}, reportOf(t, p, user("alice")).Groups)

	restored, err := New(Options{})
	require.NoError(t, err)
	restored.Restore(reportOf(t, p, user("alice")))
	third := ev(3, audit.StageResponseComplete, "alice", "get", pods, 200)
	third.User.Groups = []string{"team-c"}
	restored.Observe(&third)
	assert.Equal(t, []string{"system:authenticated", "team-a", "team-b", "team-c"}, reportOf(t, restored, user("alice")).Groups)
}

func TestTrackAddsDormantServiceAccountsTheFiltersKeep(t *testing.T) {
	p, err := New(Options{Filters: []v1alpha1.FilterRule{
		{Action: v1alpha1.FilterActionDeny, Namespace: "shop"}, // needs a request: does not apply
		{Action: v1alpha1.FilterActionDeny, User: "system:serviceaccount:kube-system:.*"},
	}})
	require.NoError(t, err)
	assert.True(t, p.Track(sa("shop", "idle")))
	assert.False(t, p.Track(sa("kube-system", "idle")), "a user filter drops the account")
	assert.False(t, p.Track(user("alice")), "only ServiceAccounts are tracked without requests")
	reports := p.Reports()
	require.Len(t, reports, 1)
	assert.Equal(t, sa("shop", "idle"), reports[0].Subject)
	assert.Empty(t, reports[0].Rules)
}

func TestEachChangedReportVisitsWhatChanged(t *testing.T) {
	pods := &audit.ObjectRef{Resource: "pods", Namespace: "shop"}
	alice := ev(1, audit.StageResponseComplete, "alice", "get", pods, 200)
	bob := ev(2, audit.StageResponseComplete, "bob", "get", pods, 200)
	p := run(t, Options{}, []audit.Event{alice, bob})
	changed := func() (names []string) {
		require.NoError(t, p.EachChangedReport(func(r SubjectReport) error {
			names = append(names, r.Subject.Name)
			return nil
		}))
		return names
	}
	assert.Equal(t, []string{"alice", "bob"}, changed(), "new subjects")
	assert.Empty(t, changed(), "nothing since")
	again := ev(3, audit.StageResponseComplete, "bob", "list", pods, 403)
	p.Observe(&again)
	assert.Equal(t, []string{"bob"}, changed())
	r, ok := p.Report(user("alice"))
	assert.True(t, ok)
	assert.Equal(t, int64(1), r.EventsObserved)
}

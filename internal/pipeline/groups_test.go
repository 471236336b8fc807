package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

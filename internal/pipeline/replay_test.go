package pipeline

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
)

// A restarted file source resumes at its checkpoint, which can lie before what
// some reports already counted. Replaying from there must give the counts of
// one uninterrupted run, whatever mix of report positions the crash left.
func TestReplayFromCheckpointCountsEachRequestOnce(t *testing.T) {
	for parity := range 2 {
		t.Run(fmt.Sprintf("parity=%d", parity), func(t *testing.T) { testReplay(t, parity) })
	}
}

func testReplay(t *testing.T, parity int) {
	events := loadEvents(t, "kube-apiserver-v1.34-scenario.audit.log")
	opts := Options{MigrateDeprecatedGroups: true, Groups: []string{"system:authenticated"}}
	after := func(i int) v1alpha1.FilePosition { return v1alpha1.FilePosition{Offset: int64(i + 1)} }
	whole := run(t, opts, events)

	// The checkpoint was written after events[:checkpoint]; every other
	// report (chosen by parity) was last written then, the others at a later flush, after
	// events[:later]; then the operator died.
	checkpoint, later := len(events)/3, 2*len(events)/3
	beforeCrash := run(t, opts, events[:checkpoint])
	restarted, err := New(opts)
	require.NoError(t, err)
	atCheckpoint := map[v1alpha1.Subject]bool{}
	for i, r := range beforeCrash.Reports() {
		if i%2 == parity {
			restarted.RestoreAt(r, after(checkpoint-1))
			atCheckpoint[r.Subject] = true
		}
	}
	for _, r := range run(t, opts, events[:later]).Reports() {
		if !atCheckpoint[r.Subject] {
			restarted.RestoreAt(r, after(later-1))
		}
	}
	for i := checkpoint; i < len(events); i++ {
		restarted.ObserveAt(&events[i], after(i))
	}

	want, got := whole.Reports(), restarted.Reports()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Subject, got[i].Subject)
		assert.Equal(t, want[i].EventsObserved, got[i].EventsObserved, "%s", want[i].Subject)
		require.Len(t, got[i].Rules, len(want[i].Rules), "%s", want[i].Subject)
		for j := range want[i].Rules {
			assert.Equal(t, want[i].Rules[j].Count, got[i].Rules[j].Count, "%s %+v", want[i].Subject, want[i].Rules[j])
		}
	}
	assert.Equal(t, whole.Counters().Processed, beforeCrash.Counters().Processed+restarted.Counters().Processed,
		"a replayed request already in a report counts as processed, once")
}

package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/audicia/audicia/api/v1alpha1"
)

func TestReportNameIsValidAndUnique(t *testing.T) {
	subjects := []v1alpha1.Subject{
		{Kind: v1alpha1.SubjectKindUser, Name: "alice@corp.com"},
		{Kind: v1alpha1.SubjectKindUser, Name: "a+b"},
		{Kind: v1alpha1.SubjectKindUser, Name: "a-b"},
		{Kind: v1alpha1.SubjectKindUser, Name: strings.Repeat("x", 300)},
		{Kind: v1alpha1.SubjectKindUser, Name: strings.Repeat("x", 299) + "y"},
		{Kind: v1alpha1.SubjectKindUser, Name: "ÜNICODE ünicode"},
		{Kind: v1alpha1.SubjectKindGroup, Name: "alice@corp.com"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop-web", Name: ""},
	}
	seen := map[string]v1alpha1.Subject{}
	for _, source := range []string{"cluster-audit", strings.Repeat("s", 253)} {
		for _, s := range subjects {
			name := reportName(source, s)
			assert.Empty(t, validation.IsDNS1123Subdomain(name), "%s: %q", s, name)
			assert.LessOrEqual(t, len(name), 253)
			other, dup := seen[name]
			assert.False(t, dup, "%s and %s share %q", s, other, name)
			seen[name] = s
		}
	}
	assert.Empty(t, validation.IsValidLabelValue(sourceLabelValue(strings.Repeat("s", 253))))
}

func TestDecideWrite(t *testing.T) {
	prev := &written{rules: 7, scored: scored{key: 3}, events: 10, dropped: 1}
	tests := []struct {
		name         string
		prev         *written
		next         written
		counterFlush bool
		want         writeDecision
	}{
		{"new subject", nil, written{rules: 7, events: 10}, false, write},
		{"new rule", prev, written{rules: 8, scored: scored{key: 3}, events: 11, dropped: 1}, false, write},
		{"new score", prev, written{rules: 7, scored: scored{key: 4}, events: 10, dropped: 1}, false, write},
		{"nothing new", prev, written{rules: 7, scored: scored{key: 3}, events: 10, dropped: 1}, false, keep},
		{"nothing new at a counter flush", prev, written{rules: 7, scored: scored{key: 3}, events: 10, dropped: 1}, true, keep},
		{"counts only", prev, written{rules: 7, scored: scored{key: 3}, events: 12, dropped: 1}, false, postpone},
		{"drops only", prev, written{rules: 7, scored: scored{key: 3}, events: 10, dropped: 2}, false, postpone},
		{"counts only at a counter flush", prev, written{rules: 7, scored: scored{key: 3}, events: 12, dropped: 1}, true, write},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, decideWrite(tt.prev, &tt.next, tt.counterFlush))
		})
	}
}

func TestContentKeyIgnoresCountsAndTimes(t *testing.T) {
	rules := []v1alpha1.ObservedRule{{Resource: "pods", Namespace: "shop", Verb: "get", Count: 1}}
	strategy := v1alpha1.PolicyStrategy{VerbMerge: v1alpha1.VerbMergeSmart}
	key := contentKey(rules, strategy)

	counted := []v1alpha1.ObservedRule{{Resource: "pods", Namespace: "shop", Verb: "get", Count: 9, LastSeen: metav1.Now()}}
	assert.Equal(t, key, contentKey(counted, strategy), "counts and times are not content")

	for name, other := range map[string][]v1alpha1.ObservedRule{
		"another verb":   {{Resource: "pods", Namespace: "shop", Verb: "list", Count: 1}},
		"a name":         {{Resource: "pods", Namespace: "shop", Verb: "get", ResourceNames: []string{"web"}, Count: 1}},
		"first denial":   {{Resource: "pods", Namespace: "shop", Verb: "get", Count: 2, DeniedCount: 1}},
		"only denied":    {{Resource: "pods", Namespace: "shop", Verb: "get", Count: 2, DeniedCount: 2}},
		"another rule":   append(rules, v1alpha1.ObservedRule{NonResourceURL: "/healthz", Verb: "get"}),
		"fields shifted": {{Resource: "podsshop", Verb: "get", Count: 1}},
	} {
		assert.NotEqual(t, key, contentKey(other, strategy), name)
	}
	assert.NotEqual(t, key, contentKey(rules, v1alpha1.PolicyStrategy{VerbMerge: v1alpha1.VerbMergeExact}), "strategy")
}

func TestCheckpointNeverPassesAPendingReport(t *testing.T) {
	at := func(seq, off int64) v1alpha1.FilePosition { return v1alpha1.FilePosition{Sequence: seq, Offset: off} }
	point := func(pos v1alpha1.FilePosition, processed int64) flushPoint {
		return flushPoint{checkpoint: v1alpha1.FileCheckpoint{Position: pos}, counters: v1alpha1.SourceCounters{Processed: processed}}
	}
	var c checkpoints
	c.add(point(at(0, 100), 1))
	c.add(point(at(0, 200), 2))
	c.add(point(at(1, 50), 3)) // after a rotation

	p, ok := c.safe(at(0, 150))
	assert.True(t, ok)
	assert.Equal(t, int64(1), p.counters.Processed, "the counters of the point itself")
	p, ok = c.safe(at(1, 50))
	assert.True(t, ok)
	assert.Equal(t, at(1, 50), p.checkpoint.Position)
	_, ok = c.safe(at(0, 150))
	assert.False(t, ok, "points before the one returned are forgotten")

	c.add(point(at(1, 50), 4))
	p, _ = c.safe(at(9, 0))
	assert.Equal(t, int64(4), p.counters.Processed, "a point at the same position is replaced")
}

func TestSourceConditions(t *testing.T) {
	running := runnerHealth{started: true, ingest: ingestState{ok: true, reason: v1alpha1.ReasonTailing, message: "reading /a"}}
	tests := []struct {
		name     string
		problem  *problem
		health   runnerHealth
		ready    metav1.ConditionStatus
		reason   string
		degraded metav1.ConditionStatus
	}{
		{"invalid spec", &problem{reason: v1alpha1.ReasonInvalidSpec, message: "spec.filters[0].user: bad"}, runnerHealth{},
			metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, metav1.ConditionFalse},
		{"restoring", nil, runnerHealth{}, metav1.ConditionUnknown, reasonStarting, metav1.ConditionFalse},
		{"running", nil, running, metav1.ConditionTrue, v1alpha1.ReasonSucceeded, metav1.ConditionFalse},
		{"file missing", nil, runnerHealth{started: true, ingest: ingestState{reason: v1alpha1.ReasonFileMissing, message: "no file"}},
			metav1.ConditionFalse, v1alpha1.ReasonFileMissing, metav1.ConditionFalse},
		{"write failing", nil, func() runnerHealth { h := running; h.writeErr = errors.New("forbidden"); return h }(),
			metav1.ConditionFalse, v1alpha1.ReasonReportWriteFailed, metav1.ConditionTrue},
		{"requests dropped", nil, func() runnerHealth { h := running; h.counters.Dropped, h.recentDropped = 3, 3; return h }(),
			metav1.ConditionTrue, v1alpha1.ReasonSucceeded, metav1.ConditionTrue},
		{"losses long ago", nil, func() runnerHealth { h := running; h.counters.Dropped, h.counters.Malformed = 3, 1; return h }(),
			metav1.ConditionTrue, v1alpha1.ReasonSucceeded, metav1.ConditionFalse},
		{"malformed lines", nil, func() runnerHealth { h := running; h.counters.Malformed, h.recentMalformed = 1, 1; return h }(),
			metav1.ConditionTrue, v1alpha1.ReasonSucceeded, metav1.ConditionTrue},
		{"reports waiting for their namespace", nil, func() runnerHealth { h := running; h.homeless, h.homelessNamespace = 2, "gone"; return h }(),
			metav1.ConditionTrue, v1alpha1.ReasonSucceeded, metav1.ConditionTrue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds := sourceConditions(tt.problem, &tt.health)
			byType := map[string]metav1.Condition{}
			for _, c := range conds {
				assert.NotEmpty(t, c.Reason, c.Type)
				assert.NotEmpty(t, c.Message, c.Type)
				byType[c.Type] = c
			}
			assert.Equal(t, tt.ready, byType[v1alpha1.ConditionReady].Status)
			assert.Equal(t, tt.reason, byType[v1alpha1.ConditionReady].Reason)
			assert.Equal(t, tt.degraded, byType[v1alpha1.ConditionDegraded].Status)
		})
	}
}

func TestLossesCountWhatTheWindowSaw(t *testing.T) {
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	counters := func(dropped, malformed int64) v1alpha1.SourceCounters {
		return v1alpha1.SourceCounters{Dropped: dropped, Malformed: malformed}
	}
	var l losses
	steps := []struct {
		after              time.Duration
		dropped, malformed int64
		wantD, wantM       int64
	}{
		{0, 5, 1, 0, 0},                // restored: losses before the start are not recent
		{time.Minute, 7, 1, 2, 0},      // two drops since
		{9 * time.Minute, 7, 4, 2, 3},  // still within the window
		{11 * time.Minute, 7, 4, 0, 3}, // the drops are over ten minutes old
		{20 * time.Minute, 7, 4, 0, 0}, // nothing for ten minutes: clear
		{20*time.Minute + time.Second, 8, 4, 1, 0},
	}
	for i, s := range steps {
		d, m := l.add(start.Add(s.after), counters(s.dropped, s.malformed))
		assert.Equal(t, [2]int64{s.wantD, s.wantM}, [2]int64{d, m}, "step %d", i)
	}
}

func TestWriteFailuresStayShort(t *testing.T) {
	forbidden := errors.New(`report of User/alice: audiciapolicyreports.audicia.io is forbidden: namespace "gone" not found`)
	assert.NoError(t, writeFailures(nil))
	assert.Same(t, forbidden, writeFailures([]error{forbidden}))

	many := make([]error, 5000)
	for i := range many {
		many[i] = forbidden
	}
	err := writeFailures(many)
	assert.ErrorIs(t, err, forbidden)
	assert.True(t, strings.HasPrefix(err.Error(), "5000 reports not written; the first: report of User/alice"), err.Error())
	assert.Less(t, len(err.Error()), 2*len(forbidden.Error()), "the message of many failures is as short as that of one")
}

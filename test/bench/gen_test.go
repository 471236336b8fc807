package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

const testRequests = 5000

func generate(t *testing.T, requests int, seed int64) ([]byte, GenStats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(&buf, requests, seed)
	require.NoError(t, err)
	return buf.Bytes(), st
}

func splitLines(t *testing.T, data []byte) [][]byte {
	t.Helper()
	require.NotEmpty(t, data)
	require.Equal(t, byte('\n'), data[len(data)-1], "the log must end with a newline")
	return bytes.Split(data[:len(data)-1], []byte{'\n'})
}

// decodeStrict decodes one line as an audit.k8s.io/v1 Event, refusing
// unknown fields and trailing data.
func decodeStrict(line []byte) (auditv1.Event, error) {
	var ev auditv1.Event
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ev, errors.New("trailing data after the event")
	}
	return ev, nil
}

type request struct {
	events []auditv1.Event
	stages []string
}

// TestGenerateDecodes checks that every line is an audit.k8s.io/v1 Event
// written exactly as encoding/json (and so kube-apiserver) writes it, that
// the stages of one request agree, and that the stats are right.
func TestGenerateDecodes(t *testing.T) {
	data, st := generate(t, testRequests, 1)
	lines := splitLines(t, data)

	requests := map[string]*request{}
	var order []string
	stageLines := map[string]int64{}
	var denied, unauthenticated, impersonated, nonResource, twins int64
	for i, line := range lines {
		ev, err := decodeStrict(line)
		require.NoError(t, err, "line %d: %s", i+1, line)

		// Same bytes back: field order, omitted fields, escaping and
		// timestamp format all match the API server's encoder.
		again, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Equal(t, string(line), string(again), "line %d does not round-trip", i+1)

		require.Equal(t, "Event", ev.Kind)
		require.Equal(t, "audit.k8s.io/v1", ev.APIVersion)
		require.Equal(t, auditv1.LevelMetadata, ev.Level)
		require.Len(t, string(ev.AuditID), 36)
		require.Equal(t, byte('4'), ev.AuditID[14], "auditID is a version 4 UUID")
		require.False(t, ev.StageTimestamp.Before(&ev.RequestReceivedTimestamp), "line %d: stage before receipt", i+1)
		require.Len(t, ev.SourceIPs, 1)
		require.NotEmpty(t, ev.UserAgent)
		require.NotEmpty(t, ev.RequestURI)
		stageLines[string(ev.Stage)]++

		switch ev.Stage {
		case auditv1.StageRequestReceived:
			require.Nil(t, ev.ResponseStatus, "line %d", i+1)
			require.Nil(t, ev.Annotations, "line %d", i+1)
			require.True(t, ev.StageTimestamp.Equal(&ev.RequestReceivedTimestamp), "line %d", i+1)
		case auditv1.StageResponseStarted, auditv1.StageResponseComplete:
			require.NotNil(t, ev.ResponseStatus, "line %d", i+1)
			if ev.ResponseStatus.Code == 401 {
				require.Equal(t, auditv1.StageResponseStarted, ev.Stage)
				require.Empty(t, ev.User.Username)
				require.Nil(t, ev.Annotations)
				break
			}
			require.NotEmpty(t, ev.User.Username, "line %d", i+1)
			decision := ev.Annotations["authorization.k8s.io/decision"]
			require.Contains(t, []string{"allow", "forbid"}, decision, "line %d", i+1)
			_, hasReason := ev.Annotations["authorization.k8s.io/reason"]
			require.True(t, hasReason, "line %d", i+1)
			require.Equal(t, decision == "forbid", ev.ResponseStatus.Code == 403, "line %d: code %d, decision %s", i+1, ev.ResponseStatus.Code, decision)
			if ev.ResponseStatus.Code == 403 {
				require.Equal(t, "Forbidden", string(ev.ResponseStatus.Reason))
				require.Contains(t, ev.ResponseStatus.Message, "forbidden: User ")
			}
		default:
			t.Fatalf("line %d: unexpected stage %q", i+1, ev.Stage)
		}
		if ev.ObjectRef != nil {
			require.NotEmpty(t, ev.ObjectRef.Resource)
			require.NotEmpty(t, ev.ObjectRef.APIVersion)
		}

		id := string(ev.AuditID)
		rq := requests[id]
		if rq == nil {
			rq = &request{}
			requests[id] = rq
			order = append(order, id)
		}
		rq.events = append(rq.events, ev)
		rq.stages = append(rq.stages, string(ev.Stage))
	}

	// An auditID is shared only by the stages of one request, each stage
	// once, in order, and they agree on everything but the stage's own
	// fields.
	valid := map[string]bool{
		"ResponseComplete":                                 true,
		"RequestReceived,ResponseComplete":                 true,
		"ResponseStarted,ResponseComplete":                 true,
		"RequestReceived,ResponseStarted,ResponseComplete": true,
		"ResponseStarted":                                  true, // unauthenticated
	}
	for _, id := range order {
		rq := requests[id]
		seq := strings.Join(rq.stages, ",")
		require.True(t, valid[seq], "auditID %s has stages %s", id, seq)
		first := rq.events[0]
		for _, ev := range rq.events[1:] {
			require.Equal(t, first.RequestURI, ev.RequestURI, id)
			require.Equal(t, first.Verb, ev.Verb, id)
			require.Equal(t, first.User, ev.User, id)
			require.Equal(t, first.ImpersonatedUser, ev.ImpersonatedUser, id)
			require.Equal(t, first.SourceIPs, ev.SourceIPs, id)
			require.Equal(t, first.UserAgent, ev.UserAgent, id)
			require.True(t, first.RequestReceivedTimestamp.Equal(&ev.RequestReceivedTimestamp), id)
			require.Equal(t, first.ObjectRef == nil, ev.ObjectRef == nil, id)
		}
		last := rq.events[len(rq.events)-1]
		switch {
		case last.ResponseStatus.Code == 401:
			unauthenticated++
			require.Equal(t, "ResponseStarted", seq, id)
		case last.ResponseStatus.Code == 403:
			denied++
		}
		if rq.stages[0] == "RequestReceived" {
			twins++
		}
		if last.ImpersonatedUser != nil {
			impersonated++
		}
		if last.ObjectRef == nil && last.ResponseStatus.Code != 401 {
			nonResource++
		}
		// Response stages agree on the outcome.
		for i, ev := range rq.events {
			if rq.stages[i] != "RequestReceived" {
				require.Equal(t, last.ResponseStatus.Code, ev.ResponseStatus.Code, id)
				require.Equal(t, last.Annotations["authorization.k8s.io/decision"], ev.Annotations["authorization.k8s.io/decision"], id)
			}
		}
	}

	n := int64(testRequests)
	assert.Equal(t, int64(len(lines)), st.Lines, "Lines")
	assert.Equal(t, int64(len(data)), st.Bytes, "Bytes")
	assert.Equal(t, n, st.Requests, "Requests")
	assert.Equal(t, int64(len(requests)), st.Requests, "distinct auditIDs")
	assert.Equal(t, n-unauthenticated, st.Counted, "Counted")
	assert.Equal(t, stageLines["RequestReceived"], st.RequestReceived, "RequestReceived")
	assert.Equal(t, stageLines["ResponseStarted"], st.ResponseStarted, "ResponseStarted")
	assert.Equal(t, stageLines["ResponseComplete"], st.ResponseComplete, "ResponseComplete")
	assert.Equal(t, st.Lines, st.RequestReceived+st.ResponseStarted+st.ResponseComplete)
	assert.Equal(t, denied, st.Denied, "Denied")
	assert.Equal(t, unauthenticated, st.Unauthenticated, "Unauthenticated")
	assert.Equal(t, impersonated, st.Impersonated, "Impersonated")
	assert.Equal(t, nonResource, st.NonResource, "NonResource")

	// The mix, roughly.
	share := func(k int64) float64 { return float64(k) / float64(n) }
	assert.InDelta(t, 0.05, share(denied), 0.02, "denied share")
	assert.InDelta(t, 0.01, share(unauthenticated), 0.006, "unauthenticated share")
	assert.InDelta(t, 0.01, share(impersonated), 0.006, "impersonated share")
	assert.InDelta(t, 0.30, share(twins), 0.04, "RequestReceived share")
	assert.InDelta(t, 0.045, share(nonResource), 0.02, "non-resource share")

	mean := float64(st.Bytes) / float64(st.Lines)
	t.Logf("%d requests: %d lines, %d bytes, mean line %.0f bytes; %d denied, %d unauthenticated, %d impersonated, %d non-resource",
		n, st.Lines, st.Bytes, mean, denied, unauthenticated, impersonated, nonResource)
	assert.GreaterOrEqual(t, mean, 600.0, "mean line length")
	assert.LessOrEqual(t, mean, 950.0, "mean line length")
}

// TestGenerateCoverage checks that the log exercises what an analyzer has to
// handle.
func TestGenerateCoverage(t *testing.T) {
	data, _ := generate(t, 20000, 7)
	seen := map[string]bool{}
	mark := func(k string) { seen[k] = true }
	users := map[string]bool{}
	for _, line := range splitLines(t, data) {
		ev, err := decodeStrict(line)
		require.NoError(t, err)
		users[ev.User.Username] = true
		mark("verb:" + ev.Verb)
		mark("stage:" + string(ev.Stage))
		if ev.ObjectRef == nil {
			if ev.ResponseStatus != nil && ev.ResponseStatus.Code != 401 {
				mark("nonresource:" + strings.SplitN(ev.RequestURI, "?", 2)[0])
			}
			continue
		}
		r := ev.ObjectRef
		mark("group:" + r.APIGroup)
		mark("resource:" + r.Resource)
		if r.Subresource != "" {
			mark("subresource:" + r.Resource + "/" + r.Subresource)
		}
		if r.Namespace == "" && r.Resource != "namespaces" && (ev.Verb == "list" || ev.Verb == "watch") {
			mark("all-namespaces:" + r.Resource)
		}
		if strings.HasPrefix(ev.User.Username, "system:node:") {
			mark("node")
		}
		if ev.ImpersonatedUser != nil {
			mark("impersonated")
		}
	}
	for _, k := range []string{
		"verb:get", "verb:list", "verb:watch", "verb:create", "verb:update", "verb:patch", "verb:delete", "verb:deletecollection",
		"stage:RequestReceived", "stage:ResponseStarted", "stage:ResponseComplete",
		"group:", "group:apps", "group:batch", "group:rbac.authorization.k8s.io", "group:networking.k8s.io",
		"group:coordination.k8s.io", "group:example.com", "group:extensions",
		"resource:pods", "resource:configmaps", "resource:secrets", "resource:services", "resource:events",
		"resource:namespaces", "resource:nodes", "resource:persistentvolumes", "resource:deployments",
		"resource:statefulsets", "resource:replicasets", "resource:jobs", "resource:cronjobs",
		"resource:leases", "resource:widgets", "resource:ingresses",
		"subresource:pods/exec", "subresource:pods/log", "subresource:pods/status", "subresource:deployments/scale",
		"subresource:deployments/status", "subresource:serviceaccounts/token",
		"all-namespaces:pods", "nonresource:/healthz", "nonresource:/readyz", "nonresource:/metrics",
		"nonresource:/version", "nonresource:/openapi/v3", "nonresource:/apis",
		"node", "impersonated",
	} {
		assert.True(t, seen[k], "no %s in the log", k)
	}
	for _, u := range []string{"system:kube-controller-manager", "system:kube-scheduler", ""} {
		assert.True(t, users[u], "no requests from %q", u)
	}
	assert.Greater(t, len(users), 1000, "distinct users")

	c := newCluster(newRnd(7, 1))
	assert.Len(t, c.sas, 2000)
	assert.Len(t, c.users, 201)
	assert.Len(t, namespaces, 50)
	nsSeen := map[string]bool{}
	for _, s := range c.sas {
		nsSeen[s.ns] = true
	}
	assert.Len(t, nsSeen, 50)
}

func TestGenerateDeterministic(t *testing.T) {
	a, sa := generate(t, testRequests, 42)
	b, sb := generate(t, testRequests, 42)
	c, _ := generate(t, testRequests, 43)
	assert.True(t, bytes.Equal(a, b), "same seed, different bytes")
	assert.Equal(t, sa, sb)
	assert.False(t, bytes.Equal(a, c), "different seeds, same bytes")

	// A shorter log is not a prefix of a longer one (the time step depends
	// on the count), but each is deterministic on its own.
	d, _ := generate(t, 10, 42)
	e, _ := generate(t, 10, 42)
	assert.Equal(t, d, e)
}

func TestGenerateEdgeCases(t *testing.T) {
	data, st := generate(t, 0, 1)
	assert.Empty(t, data)
	assert.Equal(t, GenStats{}, st)

	_, err := Generate(io.Discard, -1, 1)
	assert.Error(t, err)

	_, err = Generate(failingWriter{}, 1000, 1)
	assert.ErrorIs(t, err, errDiskFull)
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestEnsureLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	path, st, err := EnsureLog(dir, 500, 3)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "audit-500-3.log"), path)

	want, wantStats := generate(t, 500, 3)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "cached log differs from Generate")
	assert.Equal(t, wantStats, st)

	// Reused: a marker at the end of the file would be overwritten by a
	// regeneration, so keep the size and change a byte instead.
	got[0] = ' '
	require.NoError(t, os.WriteFile(path, got, 0o644))
	_, st2, err := EnsureLog(dir, 500, 3)
	require.NoError(t, err)
	assert.Equal(t, st, st2)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, byte(' '), again[0], "the log was regenerated instead of reused")

	// A log of the wrong size (truncated) is regenerated.
	require.NoError(t, os.WriteFile(path, got[:100], 0o644))
	_, st3, err := EnsureLog(dir, 500, 3)
	require.NoError(t, err)
	assert.Equal(t, st, st3)
	again, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, again))

	// No temporary files are left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"audit-500-3.log", "audit-500-3.stats.json"}, names)
}

package controller

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/metrics"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/testutil"
)

const scenarioLog = "../../../shared/testdata/kube-apiserver-v1.34-scenario.audit.log"

// writeLog writes an audit log into a directory of the test's and returns its path.
func writeLog(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func readLog(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "the shared audit logs are expected in ../shared/testdata beside the repository")
	return data
}

// offline runs the pipeline over the log the way `audicia analyze` does: what
// the operator must end up with.
func offline(t *testing.T, spec *v1alpha1.AudiciaSourceSpec, log []byte) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.New(pipeline.OptionsFromSpec(spec))
	require.NoError(t, err)
	_, err = audit.Stream(bytes.NewReader(log), audit.StreamOptions{Workers: 1}, func(events []audit.Event) {
		for i := range events {
			p.Observe(&events[i])
		}
	})
	require.NoError(t, err)
	return p
}

func fileSource(name, path string) *v1alpha1.AudiciaSource {
	return &v1alpha1.AudiciaSource{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AudiciaSourceSpec{
			File:          &v1alpha1.FileSource{Path: path},
			FlushInterval: &metav1.Duration{Duration: 500 * time.Millisecond},
			// The control plane's own ServiceAccounts hold permissions and
			// would get reports as dormant accounts.
			Filters: []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, User: kubeSystemAccounts}},
		},
	}
}

const kubeSystemAccounts = "system:serviceaccount:kube-system:.*"

func createSource(t *testing.T, src *v1alpha1.AudiciaSource) *v1alpha1.AudiciaSource {
	t.Helper()
	require.NoError(t, k8sClient.Create(context.Background(), src))
	t.Cleanup(func() { deleteSource(t, src.Name) })
	return src
}

// deleteSource deletes a source and its reports: envtest runs no garbage
// collector to follow the owner references.
func deleteSource(t *testing.T, name string) {
	ctx := context.Background()
	src := &v1alpha1.AudiciaSource{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8sClient.Delete(ctx, src); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting source %s: %v", name, err)
	}
	for _, r := range reportsOf(t, name) {
		_ = k8sClient.Delete(ctx, &r)
	}
}

func reportsOf(t *testing.T, source string) []v1alpha1.AudiciaPolicyReport {
	t.Helper()
	var list v1alpha1.AudiciaPolicyReportList
	require.NoError(t, k8sClient.List(context.Background(), &list))
	var out []v1alpha1.AudiciaPolicyReport
	for _, r := range list.Items {
		if r.Spec.SourceRef.Name == source {
			out = append(out, r)
		}
	}
	return out
}

func getSource(t *testing.T, name string) *v1alpha1.AudiciaSource {
	t.Helper()
	src := &v1alpha1.AudiciaSource{}
	require.NoError(t, k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, src))
	return src
}

var eventually = testutil.Eventually

// reportsMatch checks that the source's reports hold exactly what the
// offline pipeline counted.
func reportsMatch(t *testing.T, source string, want *pipeline.Pipeline) error {
	got := map[v1alpha1.Subject]*v1alpha1.AudiciaPolicyReport{}
	for _, r := range reportsOf(t, source) {
		got[r.Spec.Subject] = &r
	}
	wantReports := want.Reports()
	if len(got) != len(wantReports) {
		return fmt.Errorf("%d reports, want %d", len(got), len(wantReports))
	}
	for _, w := range wantReports {
		r := got[w.Subject]
		switch {
		case r == nil:
			return fmt.Errorf("no report for %s", w.Subject)
		case r.Status.EventsObserved != w.EventsObserved:
			return fmt.Errorf("%s: %d requests, want %d", w.Subject, r.Status.EventsObserved, w.EventsObserved)
		case len(r.Status.ObservedRules) != len(w.Rules):
			return fmt.Errorf("%s: %d rules, want %d", w.Subject, len(r.Status.ObservedRules), len(w.Rules))
		}
		for i, rule := range w.Rules {
			if got := r.Status.ObservedRules[i]; got.Count != rule.Count || got.DeniedCount != rule.DeniedCount || got.Verb != rule.Verb {
				return fmt.Errorf("%s: rule %d is %+v, want %+v", w.Subject, i, got, rule)
			}
		}
	}
	return nil
}

func conditionIs(src *v1alpha1.AudiciaSource, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(src.Status.Conditions, typ)
	if c == nil || c.Status != status || c.Reason != reason || c.ObservedGeneration != src.Generation {
		return fmt.Errorf("condition %s is %+v, want %s/%s at generation %d", typ, c, status, reason, src.Generation)
	}
	return nil
}

// conditionSays is conditionIs with a message that contains text.
func conditionSays(src *v1alpha1.AudiciaSource, typ string, status metav1.ConditionStatus, reason, text string) error {
	if err := conditionIs(src, typ, status, reason); err != nil {
		return err
	}
	if msg := meta.FindStatusCondition(src.Status.Conditions, typ).Message; !strings.Contains(msg, text) {
		return fmt.Errorf("condition %s says %q, not %q", typ, msg, text)
	}
	return nil
}

// startWithPartOfTheLog writes the first 1/part of the scenario log's lines,
// starts the operator and a file source on it, and waits for the reports.
func startWithPartOfTheLog(t *testing.T, name string, part int) (log []byte, cut int, path string, op *operator, src *v1alpha1.AudiciaSource) {
	log = readLog(t, scenarioLog)
	cut = bytes.LastIndexByte(log[:len(log)/part], '\n') + 1
	path = writeLog(t, log[:cut])
	op = startOperator(t)
	src = createSource(t, fileSource(name, path))
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log[:cut])) })
	return log, cut, path, op, src
}

func TestFileSourceReportsWhatTheLogHolds(t *testing.T) {
	log, half, path, op, src := startWithPartOfTheLog(t, "file-reports", 2)

	// Lines appended later arrive too.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(log[half:])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	whole := offline(t, &src.Spec, log)
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, whole) })

	eventually(t, 10*time.Second, func() error {
		s := getSource(t, src.Name)
		if err := conditionIs(s, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded); err != nil {
			return err
		}
		if s.Status.Counters.Processed != whole.Counters().Processed || s.Status.Checkpoint == nil ||
			s.Status.Checkpoint.Position.Offset != int64(len(log)) {
			return fmt.Errorf("counters %+v, checkpoint %+v; want %d processed at offset %d",
				s.Status.Counters, s.Status.Checkpoint, whole.Counters().Processed, len(log))
		}
		return nil
	})

	// Reports are owned by the source, in the ServiceAccount's namespace.
	for _, r := range reportsOf(t, src.Name) {
		require.Len(t, r.OwnerReferences, 1)
		assert.Equal(t, src.Name, r.OwnerReferences[0].Name)
		if r.Spec.Subject.Kind == v1alpha1.SubjectKindServiceAccount {
			assert.Equal(t, r.Spec.Subject.Namespace, r.Namespace)
		} else {
			assert.Equal(t, operatorNamespace, r.Namespace)
		}
		require.NotNil(t, r.Status.SuggestedPolicy)
		assert.Contains(t, r.Status.SuggestedPolicy.Manifest, "kind: Role")
	}

	// The standard PolicyReports mirror the reports: one per namespace for
	// its ServiceAccounts, the cluster's for Users and Groups.
	eventually(t, 10*time.Second, func() error { return policyReportsMirror(t, src.Name) })

	// Nothing changes, so nothing is written: not over several flush
	// intervals, nor over a counter flush.
	before := op.writes.n.Load()
	time.Sleep(5 * time.Second)
	assert.Equal(t, before, op.writes.n.Load(), "writes while nothing changed")
}

func TestSpecChangeRestartsThePipelineAndKeepsCounts(t *testing.T) {
	log := readLog(t, scenarioLog)
	path := writeLog(t, log)
	startOperator(t)
	src := createSource(t, fileSource("spec-change", path))
	want := offline(t, &src.Spec, log)
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, want) })

	current := getSource(t, src.Name)
	current.Spec.Policy.ScopeMode = v1alpha1.ScopeModeClusterScopeAllowed
	require.NoError(t, k8sClient.Update(t.Context(), current))
	eventually(t, 20*time.Second, func() error {
		for _, r := range reportsOf(t, src.Name) {
			if m := r.Status.SuggestedPolicy.Manifest; strings.Contains(m, "kind: Role\n") {
				return fmt.Errorf("report of %s still suggests a Role:\n%s", r.Spec.Subject, m)
			}
		}
		return nil
	})
	require.NoError(t, reportsMatch(t, src.Name, want), "a restarted pipeline counts nothing twice")
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})
}

func TestRestartContinuesCountsFromTheCheckpoint(t *testing.T) {
	log, _, path, op, src := startWithPartOfTheLog(t, "file-restart", 3)
	op.stop()

	// Written while the operator is down: read after the restart, once.
	require.NoError(t, os.WriteFile(path, log, 0o600))
	startOperator(t)
	whole := offline(t, &src.Spec, log)
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, whole) })
	eventually(t, 10*time.Second, func() error {
		if got := getSource(t, src.Name).Status.Counters; got.Processed != whole.Counters().Processed || got.Received != whole.Counters().Received {
			return fmt.Errorf("counters %+v, want processed %d received %d", got, whole.Counters().Processed, whole.Counters().Received)
		}
		return nil
	})
}

func TestInvalidSpecNamesTheField(t *testing.T) {
	startOperator(t)
	src := fileSource("bad-filter", "/var/log/audit.log")
	src.Spec.Filters = append(src.Spec.Filters, v1alpha1.FilterRule{Action: v1alpha1.FilterActionDeny, Namespace: "(["})
	createSource(t, src)
	eventually(t, 10*time.Second, func() error {
		return conditionSays(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, "spec.filters[1].namespace")
	})
}

func TestMissingFileIsReportedUntilItAppears(t *testing.T) {
	startOperator(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	src := createSource(t, fileSource("file-missing", path))
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionIngesting, metav1.ConditionFalse, v1alpha1.ReasonFileMissing)
	})
	log := readLog(t, scenarioLog)
	require.NoError(t, os.WriteFile(path, log, 0o600))
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log)) })
}

// policyReportsMirror checks that every scored report of the source has a
// result in the PolicyReport that covers it.
func policyReportsMirror(t *testing.T, source string) error {
	for _, apr := range reportsOf(t, source) {
		if apr.Status.Compliance == nil {
			return fmt.Errorf("report %s/%s is not scored", apr.Namespace, apr.Name)
		}
		pr := &unstructured.Unstructured{}
		pr.SetGroupVersionKind(clusterPolicyReportKind)
		key := client.ObjectKey{Name: policyReportName}
		if apr.Spec.Subject.Kind == v1alpha1.SubjectKindServiceAccount {
			pr.SetGroupVersionKind(policyReportKind)
			key.Namespace = apr.Namespace
		}
		if err := k8sClient.Get(t.Context(), key, pr); err != nil {
			return fmt.Errorf("policy report for %s: %w", apr.Spec.Subject, err)
		}
		results, _, _ := unstructured.NestedSlice(pr.Object, "results")
		found := false
		for _, r := range results {
			props, _, _ := unstructured.NestedStringMap(r.(map[string]any), "properties")
			found = found || props["audiciaReport"] == apr.Namespace+"/"+apr.Name
		}
		if !found {
			return fmt.Errorf("no result for %s in %v", apr.Spec.Subject, key)
		}
	}
	return nil
}

// A report someone deleted or changed is written over at its next change,
// with everything the pipeline holds.
func TestReportsChangedBehindTheOperatorsBackAreWrittenOver(t *testing.T) {
	log, half, path, _, src := startWithPartOfTheLog(t, "overwrite", 2)
	// Two subjects that make requests in the second half of the log.
	before := map[v1alpha1.Subject]int64{}
	for _, r := range offline(t, &src.Spec, log[:half]).Reports() {
		before[r.Subject] = r.EventsObserved
	}
	after := map[v1alpha1.Subject]int64{}
	for _, r := range offline(t, &src.Spec, log).Reports() {
		after[r.Subject] = r.EventsObserved
	}
	var busy []v1alpha1.AudiciaPolicyReport
	for _, r := range reportsOf(t, src.Name) {
		if after[r.Spec.Subject] > before[r.Spec.Subject] {
			busy = append(busy, r)
		}
	}
	require.GreaterOrEqual(t, len(busy), 2, "the scenario log's second half has requests of two reported subjects")
	deleted, changed := busy[0], busy[1]
	require.NoError(t, k8sClient.Delete(t.Context(), &deleted))
	changed.Status.EventsObserved = 0
	require.NoError(t, k8sClient.Status().Update(t.Context(), &changed))

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(log[half:])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log)) })
}

// TestReportsWaitForTheirNamespace checks that a ServiceAccount whose
// namespace does not exist, as in a log that outlived it, holds back neither
// the other reports, the checkpoint nor readiness, says so in Degraded, and
// gets its report once the namespace exists.
func TestReportsWaitForTheirNamespace(t *testing.T) {
	log := bytes.ReplaceAll(readLog(t, scenarioLog), []byte("system:serviceaccount:billing:worker"), []byte("system:serviceaccount:later:worker"))
	path := writeLog(t, log)
	startOperator(t)
	src := createSource(t, fileSource("homeless", path))
	whole := offline(t, &src.Spec, log)
	worker := v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "later", Name: "worker"}
	_, ok := whole.Report(worker)
	require.True(t, ok, "the log names later/worker")

	eventually(t, 20*time.Second, func() error {
		s := getSource(t, src.Name)
		if err := conditionIs(s, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded); err != nil {
			return err
		}
		if err := conditionSays(s, v1alpha1.ConditionDegraded, metav1.ConditionTrue, v1alpha1.ReasonNamespaceMissing,
			`1 ServiceAccount reports not written: their namespaces ("later" first) do not exist`); err != nil {
			return err
		}
		if s.Status.Checkpoint == nil || s.Status.Checkpoint.Position.Offset != int64(len(log)) {
			return fmt.Errorf("checkpoint %+v, want offset %d", s.Status.Checkpoint, len(log))
		}
		if n, want := len(reportsOf(t, src.Name)), len(whole.Reports())-1; n != want {
			return fmt.Errorf("%d reports, want %d", n, want)
		}
		return nil
	})

	require.NoError(t, createNamespaces("later"))
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, whole) })
	eventually(t, 10*time.Second, func() error {
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionDegraded, metav1.ConditionFalse, v1alpha1.ReasonSucceeded)
	})
}

// TestRetentionDeletesTheReportsItEmpties checks that a subject whose rules
// all expired loses its report instead of leaving one that goes on
// suggesting them.
func TestRetentionDeletesTheReportsItEmpties(t *testing.T) {
	_, _, _, _, src := startWithPartOfTheLog(t, "retention", 1)

	// Every request of the log is older than a minute.
	current := getSource(t, src.Name)
	current.Spec.Limits.Retention = &metav1.Duration{Duration: time.Minute}
	require.NoError(t, k8sClient.Update(t.Context(), current))
	eventually(t, 20*time.Second, func() error {
		for _, r := range reportsOf(t, src.Name) {
			// A ServiceAccount that holds permissions stays, with nothing used.
			if r.Spec.Subject.Kind != v1alpha1.SubjectKindServiceAccount || len(r.Status.ObservedRules) > 0 {
				return fmt.Errorf("report of %s still holds %d rules", r.Spec.Subject, len(r.Status.ObservedRules))
			}
		}
		return conditionIs(getSource(t, src.Name), v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	})
}

// TestLostCheckpointIsReported checks that a restart which finds the
// checkpoint's file gone (rotated away and removed while the operator was
// down) reads the new file from its start and says what was lost.
func TestLostCheckpointIsReported(t *testing.T) {
	log, cut, path, op, src := startWithPartOfTheLog(t, "lost-checkpoint", 3)
	op.stop()

	// The successor is written before the old file goes, so that it cannot
	// take over the old file's inode.
	next := path + ".next"
	require.NoError(t, os.WriteFile(next, log[cut:], 0o600))
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Rename(next, path))
	startOperator(t)
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log)) })
	eventually(t, 10*time.Second, func() error {
		return conditionSays(getSource(t, src.Name), v1alpha1.ConditionIngesting, metav1.ConditionTrue, v1alpha1.ReasonTailing, "were not read")
	})
}

// TestDeletedSourceWritesNothingMore checks that a deleted source's runner
// stops without the final flush a restart makes: its pending counts would
// only rewrite reports the garbage collector is deleting.
func TestDeletedSourceWritesNothingMore(t *testing.T) {
	log := readLog(t, scenarioLog)
	path := writeLog(t, log)
	op := startOperatorFlushingCountsEvery(t, time.Hour)
	src := createSource(t, fileSource("deleted", path))
	eventually(t, 20*time.Second, func() error { return reportsMatch(t, src.Name, offline(t, &src.Spec, log)) })

	// The log again with new audit IDs: counts alone change, and wait for
	// the counter flush an hour away.
	again := regexp.MustCompile(`"auditID":"[0-9a-f]`).ReplaceAllFunc(log, func(id []byte) []byte {
		first := &id[len(id)-1]
		if *first == 'f' {
			*first = 'e'
		} else {
			*first = 'f'
		}
		return id
	})
	received := func() float64 {
		var m dto.Metric
		require.NoError(t, metrics.EventsReceived.WithLabelValues(src.Name).Write(&m))
		return m.GetCounter().GetValue()
	}
	before := received()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(again)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	eventually(t, 20*time.Second, func() error {
		if received() < before+float64(bytes.Count(log, []byte("\n"))) {
			return fmt.Errorf("%v events received, want %d more than %v", received(), bytes.Count(log, []byte("\n")), before)
		}
		return nil
	})

	writes := op.writes.n.Load()
	require.NoError(t, k8sClient.Delete(t.Context(), src))
	time.Sleep(3 * time.Second)
	assert.Equal(t, writes, op.writes.n.Load(), "writes after the source was deleted")
}

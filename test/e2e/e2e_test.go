package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/testutil"
)

// serviceAccount creates a ServiceAccount in the test namespace and returns
// a client that acts as it.
func serviceAccount(t *testing.T, name string) kubernetes.Interface {
	t.Helper()
	sa, err := local.ServiceAccount(t.Context(), namespace, name)
	require.NoError(t, err)
	return sa
}

// reportOf returns the source's report of the ServiceAccount, nil while there is none.
func reportOf(t *testing.T, source, sa string) *v1alpha1.AudiciaPolicyReport {
	t.Helper()
	var list v1alpha1.AudiciaPolicyReportList
	require.NoError(t, local.Client.List(t.Context(), &list))
	for i, r := range list.Items {
		s := r.Spec.Subject
		if r.Spec.SourceRef.Name == source && s.Kind == v1alpha1.SubjectKindServiceAccount && s.Namespace == namespace && s.Name == sa {
			return &list.Items[i]
		}
	}
	return nil
}

var waitFor = testutil.Eventually

// requestsCounted waits until the source's report of sa has counted want requests.
func requestsCounted(t *testing.T, source, sa string, want int64, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() error {
		r := reportOf(t, source, sa)
		if r == nil {
			return fmt.Errorf("%s: no report for %s", source, sa)
		}
		if r.Status.EventsObserved != want {
			return fmt.Errorf("%s: report of %s counts %d requests, want %d", source, sa, r.Status.EventsObserved, want)
		}
		return nil
	})
}

func hasRule(r *v1alpha1.AudiciaPolicyReport, resource, verb string, denied bool) bool {
	for _, o := range r.Status.ObservedRules {
		if o.Resource == resource && o.Verb == verb && o.Namespace == namespace && (o.DeniedCount > 0) == denied {
			return true
		}
	}
	return false
}

func TestDeniedCallsBecomeASuggestedRoleThatAllowsThem(t *testing.T) {
	ctx := t.Context()
	app := serviceAccount(t, "app")
	_, err := local.Kube.CoreV1().ConfigMaps(namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	calls := func() []error {
		_, listErr := app.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		_, getErr := app.CoreV1().ConfigMaps(namespace).Get(ctx, "settings", metav1.GetOptions{})
		return []error{listErr, getErr}
	}
	for _, err := range calls() {
		require.True(t, apierrors.IsForbidden(err), "before any Role, expected 403, got %v", err)
	}

	var manifest string
	for _, source := range []string{fileSource, webhookSource} {
		waitFor(t, 15*time.Second, func() error {
			r := reportOf(t, source, "app")
			if r == nil || !hasRule(r, "pods", "list", true) || !hasRule(r, "configmaps", "get", true) {
				return fmt.Errorf("%s: no report with the denied list pods and get configmap yet: %+v", source, r)
			}
			manifest = r.Status.SuggestedPolicy.Manifest
			return nil
		})
	}

	kubectl(t, manifest, "apply", "-f", "-")
	waitFor(t, 10*time.Second, func() error {
		for _, err := range calls() {
			if err != nil {
				return fmt.Errorf("after applying the suggested manifest: %w", err)
			}
		}
		return nil
	})
	// Bound to exactly its suggested Role, and using all of it.
	compliant(t, "app", 15*time.Second, func(c *v1alpha1.Compliance) error {
		if c.Score != 100 || c.Severity != v1alpha1.SeverityGreen || c.Uncovered != 0 {
			return fmt.Errorf("with its suggested Role: score %d %s, %d uncovered", c.Score, c.Severity, c.Uncovered)
		}
		return nil
	})
}

func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(local.Kubectl, append([]string{"--kubeconfig", local.AdminKubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kubectl %v:\n%s", args, out)
	return string(out)
}

// traffic makes n denied requests as the ServiceAccount, one after another,
// calling between(i) before request i.
func traffic(t *testing.T, sa kubernetes.Interface, n int, between func(i int)) {
	t.Helper()
	for i := range n {
		between(i)
		_, err := sa.CoreV1().Secrets(namespace).Get(t.Context(), "none", metav1.GetOptions{})
		require.True(t, apierrors.IsForbidden(err), "request %d: %v", i, err)
	}
}

// kube-apiserver writes an event's line before it answers (the log backend
// blocks); a short pause makes sure the last line is on disk.
const lineWritten = 50 * time.Millisecond

func TestCopyTruncateRotationLosesNothing(t *testing.T) {
	sa := serviceAccount(t, "copytruncate")
	const requests = 300
	traffic(t, sa, requests, func(i int) {
		if i == requests/2 {
			time.Sleep(lineWritten)
			copyTruncate(t, local.AuditLog)
		}
	})
	requestsCounted(t, fileSource, "copytruncate", requests, 20*time.Second)
	requestsCounted(t, webhookSource, "copytruncate", requests, 20*time.Second)
}

// copyTruncate rotates the log as logrotate's copytruncate does.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".1", data, 0o644))
	require.NoError(t, os.Truncate(path, 0))
}

func TestRenameRotationLosesNothing(t *testing.T) {
	sa := serviceAccount(t, "rotate")
	before := rotatedLogs(t)
	// Two lines of ~1 KB a request and four writers: kube-apiserver rotates
	// its 1 MB log several times while they run.
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { traffic(t, sa, perWriter, func(int) {}) })
	}
	wg.Wait()
	require.Greater(t, rotatedLogs(t), before, "kube-apiserver did not rotate its log; the test proves nothing")
	requestsCounted(t, fileSource, "rotate", writers*perWriter, 30*time.Second)
	requestsCounted(t, webhookSource, "rotate", writers*perWriter, 30*time.Second)
}

func rotatedLogs(t *testing.T) int {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(local.AuditLog), "audit-*.log"))
	require.NoError(t, err)
	return len(matches)
}

// Once the tests' requests are counted, reports are not written again (this
// runs before the operator is killed: kube-apiserver's webhook backend then
// retries the batches it could not deliver, late but legitimately). The
// control plane's own requests still move the sources' counters (received,
// filtered) and checkpoint, which are written at most once per counter flush.
func TestQuietOperatorWritesNothing(t *testing.T) {
	time.Sleep(counterFlush + time.Second) // the last counts are written
	start := logSize(t)
	const window = 3 * counterFlush
	time.Sleep(window)
	var reports []string
	var sources int
	for _, w := range operatorWrites(t, start) {
		switch {
		case strings.Contains(w, "/audiciapolicyreports/"):
			reports = append(reports, w)
		case strings.Contains(w, "/audiciasources/"):
			sources++
		}
	}
	assert.Empty(t, reports, "report writes while no request of a kept subject was made")
	assert.LessOrEqual(t, sources, 2*int(window/counterFlush+1), "source status writes: more than one per counter flush")
}

// A restart replays the log from the checkpoint, which can lag the reports
// written since: "steady" repeats one rule (its report waits for a counter
// flush, holding the checkpoint back) while "spreading" adds a rule with each
// request (its report is written at every flush). The operator is killed
// while the checkpoint lags; each request must still be counted once.
func TestKilledOperatorCountsEveryRequestOnce(t *testing.T) {
	steady, spreading := serviceAccount(t, "steady"), serviceAccount(t, "spreading")
	var spread int64
	spreadOnce := func() {
		_, err := spreading.CoreV1().Secrets(fmt.Sprintf("ns-%d", spread)).Get(t.Context(), "none", metav1.GetOptions{})
		require.True(t, apierrors.IsForbidden(err), "request %d: %v", spread, err)
		spread++
	}
	const requests = 300
	var restarted sync.WaitGroup
	traffic(t, steady, requests, func(i int) {
		spreadOnce()
		if i == 2*requests/3 {
			for !checkpointLags(t, "spreading") {
				spreadOnce()
				time.Sleep(50 * time.Millisecond)
			}
			local.Operator.Kill()
			restarted.Go(func() { require.NoError(t, local.Operator.Start()) })
		}
		time.Sleep(5 * time.Millisecond) // spread the requests over several flushes
	})
	restarted.Wait()
	requestsCounted(t, fileSource, "steady", requests, 30*time.Second)
	requestsCounted(t, fileSource, "spreading", spread, 30*time.Second)
}

// checkpointLags reports whether the file source's checkpoint lags the report
// of sa: a restart then replays requests that report has counted.
func checkpointLags(t *testing.T, sa string) bool {
	src := &v1alpha1.AudiciaSource{}
	require.NoError(t, local.Client.Get(t.Context(), client.ObjectKey{Name: fileSource}, src))
	r := reportOf(t, fileSource, sa)
	return r != nil && r.Status.SourcePosition != nil && src.Status.Checkpoint != nil &&
		src.Status.Checkpoint.Position.Less(*r.Status.SourcePosition)
}

func logSize(t *testing.T) int64 {
	t.Helper()
	info, err := os.Stat(local.AuditLog)
	require.NoError(t, err)
	return info.Size()
}

// operatorWrites lists the changes the operator made to Audicia objects,
// read from the audit log after offset.
func operatorWrites(t *testing.T, offset int64) []string {
	t.Helper()
	f, err := os.Open(local.AuditLog)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Seek(offset, io.SeekStart)
	require.NoError(t, err)
	var writes []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 4<<20)
	for scanner.Scan() {
		var ev struct {
			Stage, Verb, RequestURI string
			User                    struct{ Username string }
		}
		if json.Unmarshal(scanner.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || ev.User.Username != local.OperatorUser {
			continue
		}
		if ev.Verb != "get" && ev.Verb != "list" && ev.Verb != "watch" && bytes.Contains([]byte(ev.RequestURI), []byte("audicia.io")) {
			writes = append(writes, ev.Verb+" "+ev.RequestURI)
		}
	}
	require.NoError(t, scanner.Err())
	return writes
}

// TestRefusedImpersonationIsNoNeed checks, against what kube-apiserver
// really records, that a ServiceAccount refused the impersonation it asked
// for gets no rule for the request it wrapped: the sources count it as
// refused, and suggest only what the authorizer itself denied.
func TestRefusedImpersonationIsNoNeed(t *testing.T) {
	ctx := t.Context()
	cfg, err := local.ServiceAccountConfig(ctx, namespace, "impostor")
	require.NoError(t, err)
	own, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	cfg.Impersonate.UserName = "victim"
	asVictim, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)

	_, err = asVictim.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "impersonation without permission: %v", err)
	_, err = own.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
	require.True(t, apierrors.IsForbidden(err), "list secrets without permission: %v", err)

	for _, source := range []string{fileSource, webhookSource} {
		waitFor(t, 15*time.Second, func() error {
			r := reportOf(t, source, "impostor")
			if r == nil || !hasRule(r, "secrets", "list", true) {
				return fmt.Errorf("%s: no report with the denied list secrets yet: %+v", source, r)
			}
			if len(r.Status.ObservedRules) != 1 {
				return fmt.Errorf("%s: rules %+v, want only list secrets", source, r.Status.ObservedRules)
			}
			return nil
		})
		waitFor(t, 2*counterFlush+5*time.Second, func() error {
			src := &v1alpha1.AudiciaSource{}
			if err := local.Client.Get(ctx, client.ObjectKey{Name: source}, src); err != nil {
				return err
			}
			if src.Status.Counters.Refused < 1 {
				return fmt.Errorf("%s: counters %+v count no refused request", source, src.Status.Counters)
			}
			return nil
		})
	}
}

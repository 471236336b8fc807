package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/test/cluster"
)

// local is the cluster every test shares.
var local *cluster.Cluster

const (
	counterFlush  = 3 * time.Second
	namespace     = "e2e"
	fileSource    = "e2e-file"
	webhookSource = "e2e-webhook"
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "audicia-e2e-")
	if err != nil {
		return 1, err
	}
	// AUDICIA_E2E_KEEP=1 keeps the audit logs, kubeconfigs and operator log.
	if os.Getenv("AUDICIA_E2E_KEEP") == "" {
		defer os.RemoveAll(dir)
	} else {
		defer fmt.Fprintln(os.Stderr, "e2e: kept", dir)
	}
	manager := filepath.Join(dir, "manager")
	if out, err := exec.Command("go", "build", "-o", manager, "../../cmd/manager").CombinedOutput(); err != nil {
		return 1, fmt.Errorf("building the operator: %v\n%s", err, out)
	}
	// The operator runs with the chart's ServiceAccount and RBAC, as installed.
	helm, err := exec.Command("../../hack/helm.sh").Output()
	if err != nil {
		return 1, fmt.Errorf("building helm with hack/helm.sh: %w", err)
	}
	local, err = cluster.Start(cluster.Options{
		Helm:           strings.TrimSpace(string(helm)),
		Chart:          "../../charts/audicia",
		Dir:            dir,
		CRDs:           []string{"../../config/crd/bases", "../../config/crd/external"},
		OperatorBinary: manager,
		// Longer than the sources' flushInterval, so that reports with new
		// rules and reports with new counts are written at different times.
		OperatorArgs: []string{"--counter-flush-interval", counterFlush.String()},
		RotateMB:     1,
	})
	if err != nil {
		return 1, err
	}
	defer local.Stop()
	if err := createSources(); err != nil {
		return 1, err
	}
	code := m.Run()
	if code != 0 {
		local.Operator.DumpLog(os.Stderr, 200)
	}
	return code, nil
}

// createSources creates the test namespace and a file and a webhook source
// that keep the test's ServiceAccounts and drop everyone else.
func createSources() error {
	ctx := context.Background()
	if err := local.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	for name, spec := range map[string]v1alpha1.AudiciaSourceSpec{
		fileSource:    {File: &v1alpha1.FileSource{Path: local.AuditLog}},
		webhookSource: {Webhook: local.WebhookSpec()},
	} {
		spec.FlushInterval = &metav1.Duration{Duration: time.Second}
		spec.Filters = []v1alpha1.FilterRule{
			{Action: v1alpha1.FilterActionAllow, User: "system:serviceaccount:" + namespace + ":.*"},
			{Action: v1alpha1.FilterActionDeny, User: ".*"},
		}
		src := &v1alpha1.AudiciaSource{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
		if err := local.Client.Create(ctx, src); err != nil {
			return err
		}
	}
	// A file source without a checkpoint starts with the current file: the
	// tests' requests must not come before it reads.
	for _, name := range []string{fileSource, webhookSource} {
		if err := waitReady(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func waitReady(ctx context.Context, name string) error {
	src := &v1alpha1.AudiciaSource{}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := local.Client.Get(ctx, client.ObjectKey{Name: name}, src); err != nil {
			return err
		}
		if meta.IsStatusConditionTrue(src.Status.Conditions, v1alpha1.ConditionReady) {
			return nil
		}
	}
	return fmt.Errorf("source %s not ready after 30s: %+v", name, src.Status.Conditions)
}

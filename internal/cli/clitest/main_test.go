package clitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/cli"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
	"github.com/audicia/audicia/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata")

const (
	scenarioLog = "../../../../shared/testdata/kube-apiserver-v1.34-scenario.audit.log"
	// reportNamespace holds the reports of users and groups.
	reportNamespace = "audicia-system"
	// scenarioSource reports every subject of the scenario log; replaySource
	// reports ServiceAccount shop/web again, as a second source of a cluster
	// (a file and a webhook source) does.
	scenarioSource = "scenario"
	replaySource   = "replay"
)

var (
	// kubeconfig is a kubeconfig file for the envtest admin (system:masters).
	kubeconfig string
	// kubectl is the kubectl binary envtest's assets hold.
	kubectl   string
	k8sClient client.Client
	// reports are the reports created in the cluster.
	reports []v1alpha1.AudiciaPolicyReport
)

func TestMain(m *testing.M) {
	flag.Parse()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "internal/cli/clitest runs the kubectl plugin against a real kube-apiserver and etcd: "+
			"run `make test`, which builds them, or export KUBEBUILDER_ASSETS=$(hack/control-plane.sh)")
		os.Exit(1)
	}
	kubectl = filepath.Join(assets, "kubectl")
	env := &envtest.Environment{CRDDirectoryPaths: []string{"../../../config/crd/bases"}, ErrorIfCRDPathMissing: true}
	if _, err := env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "audicia-clitest-")
	if err == nil {
		err = setUp(env, dir)
	}
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "setting up the cluster:", err)
	}
	_ = env.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// setUp writes a kubeconfig for an admin user, creates the namespaces and
// the reports.
func setUp(env *envtest.Environment, dir string) error {
	user, err := env.AddUser(envtest.User{Name: "cli-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	config, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, config, 0o600); err != nil {
		return err
	}
	if k8sClient, err = client.New(user.Config(), client.Options{Scheme: testutil.Scheme()}); err != nil {
		return err
	}
	built, err := buildReports()
	if err != nil {
		return err
	}
	ctx := context.Background()
	// The report namespaces, and every namespace a suggested Role is for, so
	// that the exported RBAC can be applied.
	namespaces := []string{reportNamespace, "shop", "billing"}
	for _, r := range built {
		for _, nr := range r.Status.SuggestedPolicy.NamespaceRules {
			namespaces = append(namespaces, nr.Namespace)
		}
	}
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for _, r := range built {
		status := r.Status
		if err := k8sClient.Create(ctx, &r); err != nil {
			return fmt.Errorf("creating report %s/%s: %w", r.Namespace, r.Name, err)
		}
		r.Status = status
		if err := k8sClient.Status().Update(ctx, &r); err != nil {
			return fmt.Errorf("writing the status of report %s/%s: %w", r.Namespace, r.Name, err)
		}
		reports = append(reports, r)
	}
	return nil
}

// buildReports runs the scenario log through the pipeline and renders each
// subject's policy, as the operator does, into the reports of two sources.
func buildReports() ([]v1alpha1.AudiciaPolicyReport, error) {
	p, err := pipeline.New(pipeline.Options{IgnoreSystemUsers: true, MigrateDeprecatedGroups: true})
	if err != nil {
		return nil, err
	}
	f, err := os.Open(scenarioLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := audit.Stream(f, audit.StreamOptions{SkipSystemUsers: true}, func(events []audit.Event) {
		for i := range events {
			p.Observe(&events[i])
		}
	}); err != nil {
		return nil, err
	}
	var out []v1alpha1.AudiciaPolicyReport
	err = p.DrainReports(func(sr pipeline.SubjectReport) error {
		sp := policy.Build(sr.Subject, sr.Rules, policy.WithDefaults(v1alpha1.PolicyStrategy{}))
		r := report(scenarioSource, sr, sp)
		if sr.Subject.Name == "worker" {
			// As the operator scores it against live RBAC: get shows it.
			r.Status.Compliance = &v1alpha1.Compliance{
				Score: 40, Severity: v1alpha1.SeverityYellow, Granted: 25, Used: 10, Excess: 15, Uncovered: 4,
				EvaluatedAt: metav1.NewTime(sr.LastEventTime),
			}
		}
		out = append(out, r)
		if sr.Subject == (v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}) {
			out = append(out, report(replaySource, sr, sp))
		}
		return nil
	})
	if len(out) == 0 && err == nil {
		err = fmt.Errorf("no subjects in %s", scenarioLog)
	}
	return out, err
}

// report is the report the operator writes for a subject seen by source.
func report(source string, sr pipeline.SubjectReport, sp v1alpha1.SuggestedPolicy) v1alpha1.AudiciaPolicyReport {
	namespace := reportNamespace
	if sr.Subject.Kind == v1alpha1.SubjectKindServiceAccount {
		namespace = sr.Subject.Namespace
	}
	sum := sha256.Sum256([]byte(source))
	last := metav1.NewTime(sr.LastEventTime)
	return v1alpha1.AudiciaPolicyReport{
		ObjectMeta: metav1.ObjectMeta{
			Name:      policy.SubjectSlug(sr.Subject) + "-" + hex.EncodeToString(sum[:])[:6],
			Namespace: namespace,
		},
		Spec: v1alpha1.AudiciaPolicyReportSpec{Subject: sr.Subject, SourceRef: v1alpha1.SourceReference{Name: source}},
		Status: v1alpha1.AudiciaPolicyReportStatus{
			ObservedRules:   sr.Rules,
			RuleCount:       int32(len(sr.Rules)),
			SuggestedPolicy: &sp,
			EventsObserved:  sr.EventsObserved,
			LastEventTime:   &last,
		},
	}
}

// run runs the audicia command line with the arguments against the envtest
// cluster and returns stdout and stderr.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := cli.NewRootCommand(&stdout, &stderr)
	cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
	err := cmd.ExecuteContext(t.Context())
	return stdout.String(), stderr.String(), err
}

// golden compares got with ../testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/cli/clitest -update to write it")
	require.Equal(t, string(want), got, "%s differs; go test ./internal/cli/clitest -update rewrites it", path)
}

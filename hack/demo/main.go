// Command demo shows Audicia on a local control plane: it starts etcd and a
// real kube-apiserver with audit logging to a file and to the webhook, runs
// the operator, creates a file and a webhook source, makes requests as a few
// ServiceAccounts and a user (some allowed, some denied), and prints the
// reports. Run it with `make demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/test/cluster"
)

func main() {
	operator := flag.String("operator", "bin/manager", "The operator binary.")
	crds := flag.String("crds", "config/crd", "The directory holding the Audicia CRDs (bases) and the PolicyReport CRDs (external).")
	keep := flag.Bool("keep", false, "Keep the cluster running after the reports are printed, until Ctrl-C.")
	flag.Parse()
	if err := run(*operator, *crds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(operator, crds string, keep bool) error {
	dir, err := os.MkdirTemp("", "audicia-demo-")
	if err != nil {
		return err
	}
	step("starting etcd, kube-apiserver (audit log to a file and to the webhook) and the operator in " + dir)
	c, err := cluster.Start(cluster.Options{Dir: dir, CRDs: []string{crds + "/bases", crds + "/external"}, OperatorBinary: operator,
		OperatorArgs: []string{"--counter-flush-interval", "3s"}})
	if err != nil {
		return err
	}
	defer c.Stop()
	ctx := context.Background()

	step("creating two AudiciaSources: one tails the audit log, one receives the audit webhook")
	if err := createSources(ctx, c); err != nil {
		return err
	}
	step("making requests as ServiceAccounts shop/web and billing/worker and as the user alice@example.com")
	if err := traffic(ctx, c); err != nil {
		return err
	}
	step("waiting for the reports")
	if err := waitForReports(ctx, c, 3); err != nil {
		c.Operator.DumpLog(os.Stderr, 50)
		return err
	}

	kubectl := func(args ...string) error {
		cmd := exec.Command(c.Kubectl, append([]string{"--kubeconfig", c.AdminKubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	step("kubectl get audiciasources")
	if err := kubectl("get", "audiciasources"); err != nil {
		return err
	}
	step("kubectl get apr -A")
	if err := kubectl("get", "apr", "-A"); err != nil {
		return err
	}
	step("kubectl get policyreports -A (the standard report API, as Kyverno's and Policy Reporter's)")
	if err := kubectl("get", "policyreports,clusterpolicyreports", "-A"); err != nil {
		return err
	}
	name, err := reportName(ctx, c, "demo-file", "shop", "web")
	if err != nil {
		return err
	}
	step("the suggested RBAC for ServiceAccount shop/web: review it, then kubectl apply -f -")
	if err := kubectl("get", "apr", "-n", "shop", name, "-o", "jsonpath={.status.suggestedPolicy.manifest}"); err != nil {
		return err
	}
	if keep {
		step(fmt.Sprintf("the cluster keeps running: kubectl --kubeconfig %s get apr -A (Ctrl-C ends it)", c.AdminKubeconfig))
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt)
		<-stop
	}
	return os.RemoveAll(dir)
}

func step(msg string) { fmt.Printf("\n== %s\n", msg) }

func createSources(ctx context.Context, c *cluster.Cluster) error {
	for _, ns := range []string{"shop", "billing"} {
		if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for name, spec := range map[string]v1alpha1.AudiciaSourceSpec{
		"demo-file":    {File: &v1alpha1.FileSource{Path: c.AuditLog}},
		"demo-webhook": {Webhook: c.WebhookSpec()},
	} {
		spec.FlushInterval = &metav1.Duration{Duration: 2 * time.Second}
		// The demo's own setup requests, made as cluster admins, are not the
		// story, nor are the control plane's idle ServiceAccounts.
		spec.Filters = []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, User: "admin|local-admin|system:serviceaccount:kube-system:.*"}}
		if err := c.Client.Create(ctx, &v1alpha1.AudiciaSource{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}); err != nil {
			return err
		}
	}
	return nil
}

// traffic makes the requests the reports will show. shop/web may read its
// ConfigMap (a Role grants it) and is denied the rest; billing/worker is a
// cluster admin; alice holds nothing.
func traffic(ctx context.Context, c *cluster.Cluster) error {
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "web-config", Namespace: "shop"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-config", Namespace: "shop"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "web-config"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "web", Namespace: "shop"}}}
	settings := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "shop"}}
	// billing/worker holds far more than it uses: its report scores Red.
	admin := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "worker-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "worker", Namespace: "billing"}}}
	for _, obj := range []client.Object{role, binding, settings, admin} {
		if err := c.Client.Create(ctx, obj); err != nil {
			return err
		}
	}
	web, err := c.ServiceAccount(ctx, "shop", "web")
	if err != nil {
		return err
	}
	worker, err := c.ServiceAccount(ctx, "billing", "worker")
	if err != nil {
		return err
	}
	alice, err := c.User("alice@example.com")
	if err != nil {
		return err
	}
	calls := []func() error{
		func() error {
			_, err := web.CoreV1().ConfigMaps("shop").Get(ctx, "settings", metav1.GetOptions{})
			return err
		},
		func() error { _, err := web.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{}); return err },
		func() error {
			_, err := web.CoreV1().Secrets("shop").Get(ctx, "creds", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := worker.CoreV1().ConfigMaps("billing").List(ctx, metav1.ListOptions{})
			return err
		},
		func() error { _, err := worker.Discovery().ServerVersion(); return err },
		func() error { _, err := alice.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); return err },
		func() error {
			_, err := alice.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
			return err
		},
	}
	var allowed, denied int
	for range 3 {
		for _, call := range calls {
			if err := call(); err == nil {
				allowed++
			} else {
				denied++
			}
		}
	}
	fmt.Printf("%d requests allowed, %d denied\n", allowed, denied)
	return nil
}

// waitForReports waits until each source has written n reports and says so
// in its status.
func waitForReports(ctx context.Context, c *cluster.Cluster, n int32) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var list v1alpha1.AudiciaSourceList
		if err := c.Client.List(ctx, &list); err != nil {
			return err
		}
		done := len(list.Items) > 0
		for _, src := range list.Items {
			done = done && src.Status.Reports >= n
		}
		if done {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("the reports did not appear within 60s")
}

func reportName(ctx context.Context, c *cluster.Cluster, source, namespace, sa string) (string, error) {
	var list v1alpha1.AudiciaPolicyReportList
	if err := c.Client.List(ctx, &list); err != nil {
		return "", err
	}
	for _, r := range list.Items {
		s := r.Spec.Subject
		if r.Spec.SourceRef.Name == source && s.Namespace == namespace && s.Name == sa {
			return r.Name, nil
		}
	}
	return "", fmt.Errorf("no report of %s/%s from %s", namespace, sa, source)
}

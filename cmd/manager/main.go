// Command manager runs the Audicia operator: one pipeline per AudiciaSource,
// writing an AudiciaPolicyReport per subject.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/controller"
)

func main() {
	var (
		metricsAddr, probeAddr, namespace string
		leaderElect                       bool
		opts                              controller.Options
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; \"0\" turns it off.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one replica ingests and writes reports.")
	flag.StringVar(&namespace, "namespace", envOr("POD_NAMESPACE", "audicia-system"),
		"The operator's namespace: webhook TLS Secrets and the leader election Lease live here. Defaults to $POD_NAMESPACE when set.")
	flag.DurationVar(&opts.CounterFlushInterval, "counter-flush-interval", controller.DefaultCounterFlushInterval,
		"How long a report whose counts alone changed waits before it is written. New rules are written at each source's spec.flushInterval.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\nRuns the Audicia operator: it ingests the audit events of every AudiciaSource\nand writes an AudiciaPolicyReport per subject. It never applies RBAC itself.\n\nFlags:\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	must(clientgoscheme.AddToScheme(scheme))
	must(v1alpha1.AddToScheme(scheme))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration: pass --kubeconfig or run in a cluster")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "audicia-operator",
		LeaderElectionNamespace: namespace,
		// Runners flush their reports on shutdown; a stepping-down leader must
		// not leave the lease before that is done.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controller.CacheOptions(namespace),
	})
	if err != nil {
		log.Error(err, "creating the manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	opts.Namespace = namespace
	must(controller.Setup(ctx, mgr, opts))
	must(mgr.AddHealthzCheck("ping", healthz.Ping))

	log.Info("starting the operator", "namespace", namespace)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "the operator stopped")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func must(err error) {
	if err != nil {
		ctrl.Log.WithName("setup").Error(err, "setting up the operator")
		os.Exit(1)
	}
}

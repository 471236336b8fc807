package controller

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options configure the operator's controllers.
type Options struct {
	// Namespace is the operator's namespace, where webhook sources' TLS
	// Secrets live.
	Namespace string
	// CounterFlushInterval is how long a report whose counts alone changed
	// waits before it is written; content changes are written at the source's
	// flushInterval.
	CounterFlushInterval time.Duration
}

// DefaultCounterFlushInterval batches count-only report updates for minutes,
// so that thousands of busy subjects do not keep the API server writing.
const DefaultCounterFlushInterval = 5 * time.Minute

// Setup adds the runners, the readiness check and the reconcilers to mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Namespace == "" {
		return fmt.Errorf("the operator's namespace must be set")
	}
	if opts.CounterFlushInterval <= 0 {
		opts.CounterFlushInterval = DefaultCounterFlushInterval
	}
	self, err := whoAmI(ctx, mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("asking the API server who the operator is (its own requests are not counted): %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	live := &rbacState{reader: mgr.GetClient(), discovery: dc}
	runners := newRunners(runnerConfig{
		rbac:                 live,
		self:                 self,
		client:               mgr.GetClient(),
		reader:               mgr.GetAPIReader(),
		recorder:             mgr.GetEventRecorder("audicia"),
		counterFlushInterval: opts.CounterFlushInterval,
	})
	if err := mgr.Add(runners); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("pipelines", runners.ReadyCheck); err != nil {
		return err
	}
	live.changed = runners.rbacChanged
	if err := live.setupWithManager(mgr); err != nil {
		return err
	}
	if err := (&PolicyReportReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&AudiciaSourceReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("audicia"),
		Runners:   runners,
		Namespace: opts.Namespace,
	}).SetupWithManager(mgr)
}

// whoAmI returns the username the operator acts as.
func whoAmI(ctx context.Context, cfg *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// CacheOptions limits the Secrets the operator caches to its own namespace:
// it needs only the TLS Secrets of webhook sources.
func CacheOptions(namespace string) cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Namespaces: map[string]cache.Config{namespace: {}}},
	}}
}

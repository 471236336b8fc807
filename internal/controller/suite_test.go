package controller

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audicia/audicia/internal/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The controllers are tested against a real kube-apiserver and etcd.
var (
	restConfig     *rest.Config
	operatorConfig *rest.Config
	k8sClient      client.Client
	testScheme     = testutil.Scheme()
)

const operatorNamespace = "audicia-system"

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "envtest needs kube-apiserver and etcd: run `make test`, which builds them, "+
			"or export KUBEBUILDER_ASSETS=$(hack/control-plane.sh)")
		os.Exit(1)
	}
	// TEST_LOG=1 shows the operator's logs; by default only errors.
	level := zapcore.ErrorLevel
	if os.Getenv("TEST_LOG") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr), zap.Level(level)))
	env := &envtest.Environment{CRDDirectoryPaths: []string{"../../config/crd/bases", "../../config/crd/external"}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the control plane:", err)
		os.Exit(1)
	}
	restConfig = cfg
	// The operator does not count its own requests; it acts as a user of its
	// own, not as the admin the shared logs also show.
	operatorConfig, err = operatorUser(env)
	if err == nil {
		k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme})
	}
	if err == nil {
		err = createNamespaces(operatorNamespace, "shop", "billing")
	}
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	_ = env.Stop()
	os.Exit(code)
}

func operatorUser(env *envtest.Environment) (*rest.Config, error) {
	u, err := env.AddUser(envtest.User{Name: "audicia-operator", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

func createNamespaces(names ...string) error {
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := k8sClient.Create(context.Background(), ns); err != nil {
			return err
		}
	}
	return nil
}

// writeCounter counts the requests that change Audicia objects and the
// PolicyReports mirroring them.
type writeCounter struct{ n atomic.Int64 }

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet && (strings.Contains(req.URL.Path, "/apis/audicia.io/") || strings.Contains(req.URL.Path, "/apis/wgpolicyk8s.io/")) {
			w.n.Add(1)
		}
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// operator is a running manager with the Audicia controllers.
type operator struct {
	writes *writeCounter
	stop   func()
}

// startOperator runs the controllers until the test ends or stop is called.
func startOperator(t *testing.T) *operator {
	t.Helper()
	return startOperatorFlushingCountsEvery(t, 2*time.Second)
}

// startOperatorFlushingCountsEvery is startOperator with reports whose counts
// alone changed written every interval.
func startOperatorFlushingCountsEvery(t *testing.T, interval time.Duration) *operator {
	t.Helper()
	writes := &writeCounter{}
	cfg := rest.CopyConfig(operatorConfig)
	cfg.WrapTransport = writes.wrap
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions(operatorNamespace),
		// Each test runs its own manager with the same controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	require.NoError(t, err)
	require.NoError(t, Setup(t.Context(), mgr, Options{Namespace: operatorNamespace, CounterFlushInterval: interval}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var stopped bool
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	return &operator{writes: writes, stop: stop}
}

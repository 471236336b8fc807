// Command gen writes ../resources.json: the API resources (with subresources)
// that a real kube-apiserver serves, as the operator discovers them.
//
//	KUBEBUILDER_ASSETS=<dir with kube-apiserver and etcd> go run ./internal/compliance/testdata/gen
//
// It lives under testdata so that `go build ./...` and `go vet ./...` skip it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/audicia/audicia/internal/controller"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()

	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	resources, err := controller.DiscoverResources(dc)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(resources, "", "  ")
	if err != nil {
		return err
	}
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "resources.json")
	fmt.Printf("%d resources -> %s\n", len(resources), path)
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

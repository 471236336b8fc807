// Command gen writes ../resources.json: the API resources (with subresources)
// that a real kube-apiserver serves, as compliance.APIResource values.
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
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/audicia/audicia/internal/compliance"
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
	preferred, err := dc.ServerPreferredResources()
	if err != nil {
		return err
	}
	byKey := map[string]*compliance.APIResource{}
	add := func(group, resource string, namespaced bool, verbs []string) {
		key := group + "/" + resource
		r := byKey[key]
		if r == nil {
			r = &compliance.APIResource{Group: group, Resource: resource, Namespaced: namespaced}
			byKey[key] = r
		}
		for _, v := range verbs {
			if !contains(r.Verbs, v) {
				r.Verbs = append(r.Verbs, v)
			}
		}
	}
	for _, list := range preferred {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return err
		}
		for _, r := range list.APIResources {
			add(gv.Group, r.Name, r.Namespaced, r.Verbs)
		}
		// Subresources are only listed per group version.
		full, err := dc.ServerResourcesForGroupVersion(list.GroupVersion)
		if err != nil {
			return err
		}
		for _, r := range full.APIResources {
			if strings.Contains(r.Name, "/") {
				add(gv.Group, r.Name, r.Namespaced, r.Verbs)
			}
		}
	}
	out := make([]compliance.APIResource, 0, len(byKey))
	for _, r := range byKey {
		sort.Strings(r.Verbs)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource < out[j].Resource
	})
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "resources.json")
	fmt.Printf("%d resources -> %s\n", len(out), path)
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

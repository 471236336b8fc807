package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/audicia/audicia/internal/compliance"
	"github.com/audicia/audicia/internal/rbac"
)

// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;roles;clusterrolebindings;rolebindings,verbs=get;list;watch

// rbacState is the cluster's live RBAC as an index, rebuilt after RBAC
// objects change, and the catalog of the API resources discovery lists. The
// runners score their subjects against it.
type rbacState struct {
	reader    client.Reader
	discovery discovery.DiscoveryInterface
	// changed tells the runners to score again.
	changed func()

	mu         sync.Mutex
	generation uint64 // counts RBAC changes
	built      uint64 // the generation index was built at
	index      *rbac.Index
	catalog    *compliance.Catalog
	catalogAt  time.Time
}

// catalogTTL bounds how long API resources are trusted: CRDs come and go.
const catalogTTL = 5 * time.Minute

// view is what scoring needs at one moment.
type view struct {
	index      *rbac.Index
	catalog    *compliance.Catalog
	generation uint64
}

// current returns the index and catalog, rebuilding what is stale.
func (s *rbacState) current(ctx context.Context) (view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.catalog == nil || time.Since(s.catalogAt) > catalogTTL {
		resources, err := DiscoverResources(s.discovery)
		if err != nil {
			return view{}, fmt.Errorf("discovering API resources: %w", err)
		}
		s.catalog, s.catalogAt = compliance.NewCatalog(resources), time.Now()
	}
	if s.index == nil || s.built != s.generation {
		gen := s.generation
		snapshot, err := s.snapshot(ctx)
		if err != nil {
			return view{}, fmt.Errorf("reading RBAC: %w", err)
		}
		s.index, s.built = rbac.NewIndex(snapshot), gen
	}
	return view{index: s.index, catalog: s.catalog, generation: s.built}, nil
}

func (s *rbacState) snapshot(ctx context.Context) (rbac.Snapshot, error) {
	var (
		crs  rbacv1.ClusterRoleList
		rs   rbacv1.RoleList
		crbs rbacv1.ClusterRoleBindingList
		rbs  rbacv1.RoleBindingList
	)
	for _, list := range []client.ObjectList{&crs, &rs, &crbs, &rbs} {
		if err := s.reader.List(ctx, list); err != nil {
			return rbac.Snapshot{}, err
		}
	}
	return rbac.Snapshot{ClusterRoles: crs.Items, Roles: rs.Items, ClusterRoleBindings: crbs.Items, RoleBindings: rbs.Items}, nil
}

// Reconcile marks RBAC as changed; the work queue folds a burst of changes
// into one call.
func (s *rbacState) Reconcile(context.Context, reconcile.Request) (reconcile.Result, error) {
	s.mu.Lock()
	s.generation++
	s.mu.Unlock()
	s.changed()
	return reconcile.Result{}, nil
}

// setupWithManager watches the RBAC objects.
func (s *rbacState) setupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("rbac-changes").
		Watches(&rbacv1.ClusterRole{}, one).
		Watches(&rbacv1.Role{}, one).
		Watches(&rbacv1.ClusterRoleBinding{}, one).
		Watches(&rbacv1.RoleBinding{}, one).
		Complete(s)
}

// DiscoverResources lists the API resources the server serves, subresources
// included, in their preferred versions, as compliance scores them. One
// discovery pass lists every group version with its subresources.
func DiscoverResources(dc discovery.DiscoveryInterface) ([]compliance.APIResource, error) {
	groups, lists, err := dc.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	// A group whose discovery fails (an unavailable aggregated API) is left
	// out; the rest still scores.
	preferred := map[string]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.GroupVersion
	}
	byKey := map[schema.GroupResource]*compliance.APIResource{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return nil, err
		}
		if preferred[gv.Group] != list.GroupVersion {
			continue
		}
		for _, r := range list.APIResources {
			key := schema.GroupResource{Group: gv.Group, Resource: r.Name}
			if byKey[key] == nil {
				byKey[key] = &compliance.APIResource{Group: gv.Group, Resource: r.Name, Namespaced: r.Namespaced, Verbs: r.Verbs}
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
	return out, nil
}

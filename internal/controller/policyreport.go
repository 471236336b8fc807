package controller

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/audicia/audicia/api/v1alpha1"
)

// +kubebuilder:rbac:groups=wgpolicyk8s.io,resources=policyreports;clusterpolicyreports,verbs=get;list;watch;create;update;delete

// The standard report API of the Kubernetes Policy Working Group, which
// Kyverno and Policy Reporter serve: Audicia's findings appear beside every
// other scanner's in `kubectl get policyreports -A`.
var (
	policyReportKind        = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"}
	clusterPolicyReportKind = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "ClusterPolicyReport"}
)

const (
	// policyReportName names Audicia's PolicyReport in each namespace and its
	// ClusterPolicyReport.
	policyReportName = "audicia"
	policyName       = "least-privilege"
)

// PolicyReportReconciler mirrors the AudiciaPolicyReports into standard
// PolicyReports: one per namespace for the ServiceAccounts there, and a
// ClusterPolicyReport for Users and Groups. A request's namespace is the
// namespace to rebuild; the empty namespace stands for the cluster report.
type PolicyReportReconciler struct {
	client.Client
}

// Reconcile rebuilds one PolicyReport from the AudiciaPolicyReports it covers.
func (r *PolicyReportReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kind := policyReportKind
	if req.Namespace == "" {
		kind = clusterPolicyReportKind
	}
	if _, err := r.RESTMapper().RESTMapping(kind.GroupKind(), kind.Version); meta.IsNoMatchError(err) {
		return ctrl.Result{}, nil // no policy report API in this cluster
	}
	var list v1alpha1.AudiciaPolicyReportList
	var opts []client.ListOption
	if req.Namespace != "" {
		opts = append(opts, client.InNamespace(req.Namespace))
	}
	if err := r.List(ctx, &list, opts...); err != nil {
		return ctrl.Result{}, err
	}
	results := policyResults(list.Items, req.Namespace == "")
	return ctrl.Result{}, r.write(ctx, kind, req.Namespace, results)
}

// write creates, updates or (with no results) deletes the report, and does
// nothing when it already says the same.
func (r *PolicyReportReconciler) write(ctx context.Context, kind schema.GroupVersionKind, namespace string, results []any) error {
	current := &unstructured.Unstructured{}
	current.SetGroupVersionKind(kind)
	err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: policyReportName}, current)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if len(results) == 0 {
		if exists {
			return client.IgnoreNotFound(r.Delete(ctx, current))
		}
		return nil
	}
	desired := map[string]any{"results": results, "summary": summary(results)}
	if exists && equality.Semantic.DeepEqual(desired["results"], current.Object["results"]) &&
		equality.Semantic.DeepEqual(desired["summary"], current.Object["summary"]) {
		return nil
	}
	if !exists {
		current.SetName(policyReportName)
		current.SetNamespace(namespace)
		current.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "audicia"})
	}
	current.Object["results"], current.Object["summary"] = desired["results"], desired["summary"]
	if exists {
		return r.Update(ctx, current)
	}
	return r.Create(ctx, current)
}

// policyResults turns reports into PolicyReport results: ServiceAccounts for
// a namespace's report, Users and Groups for the cluster's. Reports not yet
// scored are left out. The values are JSON-shaped (int64, string, maps) so
// they compare equal to what the API server returns.
func policyResults(reports []v1alpha1.AudiciaPolicyReport, cluster bool) []any {
	sort.Slice(reports, func(i, j int) bool { return reports[i].Name < reports[j].Name })
	var results []any
	for i := range reports {
		apr := &reports[i]
		c := apr.Status.Compliance
		if c == nil || (apr.Spec.Subject.Kind == v1alpha1.SubjectKindServiceAccount) == cluster {
			continue
		}
		result, severity := resultOf(c.Severity)
		results = append(results, map[string]any{
			"source":   "audicia",
			"policy":   policyName,
			"rule":     string(apr.Spec.Subject.Kind),
			"category": "RBAC",
			"severity": severity,
			"result":   result,
			"scored":   true,
			"message": fmt.Sprintf("%s scores %d (%s): %d of %d granted permissions unused, %d observed rules not granted",
				apr.Spec.Subject, c.Score, c.Severity, c.Excess, c.Granted, c.Uncovered),
			"timestamp": map[string]any{"seconds": c.EvaluatedAt.Unix(), "nanos": int64(0)},
			"properties": map[string]any{
				"score":         fmt.Sprint(c.Score),
				"excess":        fmt.Sprint(c.Excess),
				"uncovered":     fmt.Sprint(c.Uncovered),
				"audiciaSource": apr.Spec.SourceRef.Name,
				"audiciaReport": apr.Namespace + "/" + apr.Name,
			},
			"subjects": []any{subjectReference(apr.Spec.Subject)},
		})
	}
	return results
}

// resultOf maps a severity to a PolicyReport result and severity.
func resultOf(s v1alpha1.Severity) (result, severity string) {
	switch s {
	case v1alpha1.SeverityGreen:
		return "pass", "info"
	case v1alpha1.SeverityYellow:
		return "warn", "medium"
	default:
		return "fail", "high"
	}
}

func subjectReference(s v1alpha1.Subject) map[string]any {
	if s.Kind == v1alpha1.SubjectKindServiceAccount {
		return map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "namespace": s.Namespace, "name": s.Name}
	}
	return map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": string(s.Kind), "name": s.Name}
}

func summary(results []any) map[string]any {
	counts := map[string]any{"pass": int64(0), "fail": int64(0), "warn": int64(0), "error": int64(0), "skip": int64(0)}
	for _, r := range results {
		key := r.(map[string]any)["result"].(string)
		counts[key] = counts[key].(int64) + 1
	}
	return counts
}

// SetupWithManager rebuilds the PolicyReport of a namespace, and the
// cluster's, whenever an AudiciaPolicyReport changes.
func (r *PolicyReportReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toReport := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		apr, ok := obj.(*v1alpha1.AudiciaPolicyReport)
		if ok && apr.Spec.Subject.Kind != v1alpha1.SubjectKindServiceAccount {
			return []reconcile.Request{{}}
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace()}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("policyreports").
		Watches(&v1alpha1.AudiciaPolicyReport{}, toReport).
		Complete(r)
}

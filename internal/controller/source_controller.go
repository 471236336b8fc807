package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/metrics"
	"github.com/audicia/audicia/internal/pipeline"
)

// +kubebuilder:rbac:groups=audicia.io,resources=audiciasources,verbs=get;list;watch
// +kubebuilder:rbac:groups=audicia.io,resources=audiciasources/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=audicia.io,resources=audiciasources/finalizers,verbs=update
// +kubebuilder:rbac:groups=audicia.io,resources=audiciapolicyreports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=audicia.io,resources=audiciapolicyreports/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",namespace=audicia-system,resources=secrets,verbs=get;list;watch
// Leader election takes a Lease and records its changes as core Events, in
// the operator's namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=audicia-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=audicia-system,resources=events,verbs=create;patch

// AudiciaSourceReconciler keeps one running pipeline per AudiciaSource and
// reports its state in the source's conditions.
type AudiciaSourceReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Runners  *Runners
	// Namespace holds the TLS Secrets of webhook sources: the operator's own.
	Namespace string
}

// Reconcile starts, restarts or stops the source's runner and writes its conditions.
func (r *AudiciaSourceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := &v1alpha1.AudiciaSource{}
	if err := r.Get(ctx, req.NamespacedName, src); err != nil {
		if apierrors.IsNotFound(err) {
			r.Runners.abandon(req.Name)
			metrics.DeleteSource(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !src.DeletionTimestamp.IsZero() {
		r.Runners.abandon(src.Name)
		return ctrl.Result{}, nil
	}

	before := src.DeepCopy()
	health, p := r.reconcileRunner(ctx, src)
	for _, c := range sourceConditions(p, &health) {
		c.ObservedGeneration = src.Generation
		meta.SetStatusCondition(&src.Status.Conditions, c)
	}
	src.Status.ObservedGeneration = src.Generation
	r.recordTransition(ctx, before, src)
	if err := r.Status().Patch(ctx, src, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("writing conditions: %w", err)
	}
	return ctrl.Result{}, nil
}

// reconcileRunner makes the runner match the spec; a spec that cannot run
// stops it and says why.
func (r *AudiciaSourceReconciler) reconcileRunner(ctx context.Context, src *v1alpha1.AudiciaSource) (runnerHealth, *problem) {
	if _, err := pipeline.New(pipeline.OptionsFromSpec(&src.Spec)); err != nil {
		r.Runners.stop(src.Name)
		return runnerHealth{}, &problem{reason: v1alpha1.ReasonInvalidSpec, message: "spec." + err.Error()}
	}
	var material *tlsMaterial
	if src.Spec.Webhook != nil {
		m, p := r.tlsMaterial(ctx, src.Spec.Webhook)
		if p != nil {
			r.Runners.stop(src.Name)
			return runnerHealth{}, p
		}
		material = &m
	}
	run, err := r.Runners.ensure(ctx, src, material)
	if err != nil {
		return runnerHealth{}, &problem{reason: v1alpha1.ReasonTLSSecretInvalid, message: err.Error()}
	}
	return run.snapshot(), nil
}

// tlsMaterial reads and checks the Secrets a webhook source names.
func (r *AudiciaSourceReconciler) tlsMaterial(ctx context.Context, spec *v1alpha1.WebhookSource) (tlsMaterial, *problem) {
	var m tlsMaterial
	secret, p := r.secret(ctx, spec.TLSSecretRef.Name, "spec.webhook.tlsSecretRef")
	if p != nil {
		return m, p
	}
	m.cert, m.key = secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if _, err := tls.X509KeyPair(m.cert, m.key); err != nil {
		return m, &problem{reason: v1alpha1.ReasonTLSSecretInvalid,
			message: fmt.Sprintf("Secret %s/%s (spec.webhook.tlsSecretRef): %s and %s: %v", r.Namespace, secret.Name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey, err)}
	}
	if spec.ClientCASecretRef == nil {
		return m, nil
	}
	ca, p := r.secret(ctx, spec.ClientCASecretRef.Name, "spec.webhook.clientCASecretRef")
	if p != nil {
		return m, p
	}
	m.clientCA = ca.Data["ca.crt"]
	if !x509.NewCertPool().AppendCertsFromPEM(m.clientCA) {
		return m, &problem{reason: v1alpha1.ReasonTLSSecretInvalid,
			message: fmt.Sprintf("Secret %s/%s (spec.webhook.clientCASecretRef) has no PEM certificate in ca.crt", r.Namespace, ca.Name)}
	}
	return m, nil
}

func (r *AudiciaSourceReconciler) secret(ctx context.Context, name, field string) (*corev1.Secret, *problem) {
	secret := &corev1.Secret{}
	err := r.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &problem{reason: v1alpha1.ReasonTLSSecretMissing,
			message: fmt.Sprintf("Secret %s/%s (%s) not found", r.Namespace, name, field)}
	case err != nil:
		return nil, &problem{reason: v1alpha1.ReasonTLSSecretMissing,
			message: fmt.Sprintf("reading Secret %s/%s (%s): %v", r.Namespace, name, field, err)}
	}
	return secret, nil
}

// recordTransition emits an Event, and logs, when Ready changes.
func (r *AudiciaSourceReconciler) recordTransition(ctx context.Context, before, after *v1alpha1.AudiciaSource) {
	old := meta.FindStatusCondition(before.Status.Conditions, v1alpha1.ConditionReady)
	now := meta.FindStatusCondition(after.Status.Conditions, v1alpha1.ConditionReady)
	if now == nil || (old != nil && old.Status == now.Status && old.Reason == now.Reason) {
		return
	}
	eventType := corev1.EventTypeNormal
	if now.Status != metav1.ConditionTrue {
		eventType = corev1.EventTypeWarning
	}
	ctrl.LoggerFrom(ctx).Info("source state changed", "ready", now.Status, "reason", now.Reason, "message", now.Message)
	r.Recorder.Eventf(after, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
}

// SetupWithManager registers the reconciler and its runners with mgr.
func (r *AudiciaSourceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AudiciaSource{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.sourcesOfSecret)).
		WatchesRawSource(source.Channel(r.Runners.events, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// sourcesOfSecret maps a Secret to the webhook sources that use it.
func (r *AudiciaSourceReconciler) sourcesOfSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	if obj.GetNamespace() != r.Namespace {
		return nil
	}
	var sources v1alpha1.AudiciaSourceList
	if err := r.List(ctx, &sources); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing sources for a Secret change")
		return nil
	}
	var requests []reconcile.Request
	for _, src := range sources.Items {
		if usesSecret(&src, obj.GetName()) {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Name: src.Name}})
		}
	}
	return requests
}

func usesSecret(src *v1alpha1.AudiciaSource, name string) bool {
	w := src.Spec.Webhook
	return w != nil && (w.TLSSecretRef.Name == name || (w.ClientCASecretRef != nil && w.ClientCASecretRef.Name == name))
}

// Package v1alpha1 holds the audicia.io/v1alpha1 API: AudiciaSource, which says
// where audit events come from and how to turn them into policy, and
// AudiciaPolicyReport, one per observed subject, which carries the rules the
// subject used and the least-privilege RBAC suggested for it.
//
// +kubebuilder:object:generate=true
// +groupName=audicia.io
package v1alpha1

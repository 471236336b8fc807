// Package pipeline turns decoded audit events into the rules each subject
// used. It owns the semantics between an event and a permission: which stage
// counts (dedupe by audit ID), which requests are kept (the filter chain and
// ignoreSystemUsers), who acted (impersonation, ServiceAccounts, opt-in
// groups), what was asked (subresources, non-resource URLs, deprecated API
// groups, cluster scope) and whether RBAC denied it; and the per-subject store
// that aggregates counts and times within fixed bounds, counting what the
// bounds drop.
package pipeline

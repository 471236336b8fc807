// Package metrics owns Audicia's Prometheus collectors. Every collector is
// named `audicia_*`, is registered once (in init) on controller-runtime's
// registry so the manager's /metrics endpoint serves it, and is labelled at
// most by the AudiciaSource name (`source`, a handful per cluster) and small
// fixed sets such as an HTTP status code or a rejection reason, never by user,
// group or subject, whose number has no bound.
package metrics

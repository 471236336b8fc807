// Package webhook receives audit events from kube-apiserver's audit webhook
// backend (`--audit-webhook-config-file`, batch mode): an HTTPS server that
// accepts POSTed audit.k8s.io/v1 EventList bodies, decodes them with
// internal/audit and hands each batch to a Sink. It owns the transport side:
// TLS with certificates reloaded without a restart, optional mutual TLS with a
// client-name allow-list, request size and event-rate limits, and
// backpressure (429 with Retry-After, which the API server retries), so that a
// batch is either taken whole, once, or refused whole.
package webhook

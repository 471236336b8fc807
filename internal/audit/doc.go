// Package audit decodes Kubernetes audit events (audit.k8s.io/v1 and v1beta1,
// as JSON lines or EventList bodies) into Event, a lean value holding only what
// Audicia uses. It owns the fast path from bytes to events: a single-pass
// scanner that skips what it does not need, shared strings for the values
// that repeat, and a parallel line reader for large logs, which decodes a
// file in place where it can map it into memory.
package audit

package metrics

// Reasons a webhook batch is rejected, the values of the `reason` label of
// WebhookRejectedBatches. The set is fixed.
const (
	ReasonTooLarge     = "too_large"
	ReasonRateLimited  = "rate_limited"
	ReasonBusy         = "busy"
	ReasonUnauthorized = "unauthorized"
	ReasonMalformed    = "malformed"
)

// Collectors of the audit webhook receiver (internal/ingest/webhook).
var (
	// WebhookRequests counts HTTP requests answered, by status code (health
	// checks excluded).
	WebhookRequests = counterVec("webhook_requests_total",
		"HTTP requests answered by the audit webhook receiver, by status code (health checks excluded).",
		LabelSource, LabelCode)

	// WebhookEvents counts events of the batches accepted (answered 200).
	WebhookEvents = counterVec("webhook_events_total",
		"Audit events in batches the webhook receiver accepted.",
		LabelSource)

	// WebhookRejectedBatches counts requests refused, by reason (one of the
	// Reason* constants).
	WebhookRejectedBatches = counterVec("webhook_rejected_batches_total",
		"Batches the webhook receiver refused, by reason: too_large, rate_limited, busy, unauthorized, malformed.",
		LabelSource, LabelReason)

	// WebhookRequestDuration observes the time from request to answer.
	WebhookRequestDuration = histogramVec("webhook_request_duration_seconds",
		"Time the webhook receiver took to answer a request, reading and decoding the body included.",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		LabelSource)

	// WebhookTLSHandshakeErrors counts TLS handshakes that failed, among them
	// clients refused by mutual TLS (no certificate, unknown CA).
	WebhookTLSHandshakeErrors = counterVec("webhook_tls_handshake_errors_total",
		"TLS handshakes the webhook receiver failed, clients without an acceptable certificate included.",
		LabelSource)
)

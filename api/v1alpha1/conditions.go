package v1alpha1

// Condition types of an AudiciaSource.
const (
	// ConditionReady is True when the source's pipeline runs and ingests
	// without trouble; it summarises Ingesting and Degraded.
	ConditionReady = "Ready"
	// ConditionIngesting is True while events are being read or received.
	ConditionIngesting = "Ingesting"
	// ConditionDegraded is True when the source runs but loses or refuses
	// something: malformed lines, dropped requests, limits reached.
	ConditionDegraded = "Degraded"
)

// Condition reasons. Each names the cause a person has to act on.
const (
	// ReasonSucceeded: everything the condition covers is fine.
	ReasonSucceeded = "Succeeded"
	// ReasonInvalidSpec: the spec cannot be used, for example a filter regex
	// does not compile; the message names the field.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonLimitReached: maxSubjects or maxRulesPerReport dropped requests.
	ReasonLimitReached = "LimitReached"
	// ReasonMalformedInput: lines or events could not be decoded and were skipped.
	ReasonMalformedInput = "MalformedInput"
	// ReasonReportWriteFailed: reports or the checkpoint could not be written.
	ReasonReportWriteFailed = "ReportWriteFailed"
	// ReasonNamespaceMissing: reports of ServiceAccounts wait for their
	// namespace, which does not exist (any more); they are written once it
	// does.
	ReasonNamespaceMissing = "NamespaceMissing"
	// ReasonTailing: a file source is reading its log.
	ReasonTailing = "Tailing"
	// ReasonListening: a webhook source is accepting events.
	ReasonListening = "Listening"
	// ReasonFileMissing: the audit log of a file source does not exist (yet).
	ReasonFileMissing = "FileMissing"
	// ReasonFileUnreadable: the audit log exists but cannot be read.
	ReasonFileUnreadable = "FileUnreadable"
	// ReasonTLSSecretMissing: a Secret a webhook source names does not exist.
	ReasonTLSSecretMissing = "TLSSecretMissing"
	// ReasonTLSSecretInvalid: a Secret a webhook source names lacks a key or
	// holds a certificate or key that does not parse.
	ReasonTLSSecretInvalid = "TLSSecretInvalid"
	// ReasonPortInUse: the webhook port is taken by another listener.
	ReasonPortInUse = "PortInUse"
	// ReasonIngestFailed: reading or receiving stopped on an unexpected error;
	// the message has it and the source is retried.
	ReasonIngestFailed = "IngestFailed"
)

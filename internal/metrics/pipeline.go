package metrics

// Collectors of the ingestion pipeline (file tailer, webhook, pipeline runner
// and report writer). The counters mirror the counters of an AudiciaSource's
// status.
var (
	// EventsReceived counts events read from a source (decoded, before dedupe).
	EventsReceived = counterVec("events_received_total",
		"Audit events received from a source, before deduplication and filtering.",
		LabelSource)

	// EventsProcessed counts events that reached the per-subject aggregation.
	EventsProcessed = counterVec("events_processed_total",
		"Audit events aggregated into a subject's observed rules.",
		LabelSource)

	// EventsFiltered counts events dropped by the source's filters or by
	// ignoreSystemUsers.
	EventsFiltered = counterVec("events_filtered_total",
		"Audit events dropped by the source's filters or by ignoreSystemUsers.",
		LabelSource)

	// EventsMalformed counts inputs that could not be decoded: bad lines of a
	// log, bad items of a webhook batch, and whole unparseable webhook bodies
	// (each counted once). The webhook receiver increments it for webhook
	// sources, since its sink only sees the good events.
	EventsMalformed = counterVec("events_malformed_total",
		"Audit log lines, webhook batch items and webhook bodies that could not be decoded.",
		LabelSource)

	// EventsDropped counts events lost on purpose: over a limit (maxSubjects,
	// maxRulesPerReport) or a full queue.
	EventsDropped = counterVec("events_dropped_total",
		"Audit events dropped because a limit was reached or a queue was full.",
		LabelSource)

	// ReportWrites counts writes of AudiciaPolicyReports, by result (one of
	// the Result* constants).
	ReportWrites = counterVec("report_writes_total",
		"AudiciaPolicyReport writes, by result: created, updated, unchanged, error.",
		LabelSource, LabelResult)

	// Subjects is the number of subjects a source currently tracks.
	Subjects = gaugeVec("subjects",
		"Subjects (ServiceAccounts, Users, Groups) a source currently tracks.",
		LabelSource)

	// SubjectsBySeverity counts a source's scored subjects per compliance
	// severity (Green, Yellow, Red).
	SubjectsBySeverity = gaugeVec("subjects_by_severity",
		"Subjects of a source per compliance severity of their live RBAC: Green, Yellow or Red.",
		LabelSource, LabelSeverity)

	// FileRotations counts rotations of a tailed audit log.
	FileRotations = counterVec("file_rotations_total",
		"Rotations of a tailed audit log file (rename and create, or copytruncate).",
		LabelSource)
)

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
)

package audit

import "encoding/hex"

// Stage is the point in a request's life an audit event was written at.
type Stage uint8

const (
	// StageUnknown is an event without a stage Audicia knows.
	StageUnknown Stage = iota
	// StageRequestReceived is written before the request is handled; its
	// twin at a later stage carries the outcome.
	StageRequestReceived
	// StageResponseStarted is written when a long-running request (watch,
	// exec, port-forward) starts streaming; the outcome is already known.
	StageResponseStarted
	// StageResponseComplete is written when the response has been sent.
	StageResponseComplete
	// StagePanic is written when handling the request panicked.
	StagePanic
)

var stageNames = [...]string{"", "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}

// String returns the stage's name as the audit API spells it.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return ""
}

func parseStage(b []byte) Stage {
	switch string(b) {
	case "ResponseComplete":
		return StageResponseComplete
	case "RequestReceived":
		return StageRequestReceived
	case "ResponseStarted":
		return StageResponseStarted
	case "Panic":
		return StagePanic
	}
	return StageUnknown
}

// Decision is the authorizer's verdict recorded in the event's
// `authorization.k8s.io/decision` annotation.
type Decision uint8

const (
	// DecisionUnknown means the event carries no decision annotation (older
	// API servers, or requests that never reached authorization).
	DecisionUnknown Decision = iota
	// DecisionAllow means the authorizer allowed the request.
	DecisionAllow
	// DecisionForbid means the authorizer denied the request.
	DecisionForbid
)

// ID is an audit ID. UUIDs (what kube-apiserver writes) are stored as their
// 16 bytes; any other ID is stored as a hash of its text.
type ID [16]byte

// IsZero reports whether the event had no audit ID.
func (id ID) IsZero() bool { return id == ID{} }

// String renders the ID as a UUID.
func (id ID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// UserInfo is the part of an authenticated identity that RBAC looks at.
type UserInfo struct {
	// Username as the authenticator reported it.
	Username string
	// Groups of the user. Decoders share equal group lists between events:
	// treat the slice as read-only.
	Groups []string
}

// ObjectRef names the object a resource request was about.
type ObjectRef struct {
	Resource    string
	Namespace   string
	Name        string
	APIGroup    string
	Subresource string
}

// Event is the lean form of an audit.k8s.io event: only what Audicia uses.
// Its strings are owned by the event (never aliases of the input), so events
// may be kept after the input buffer is reused.
type Event struct {
	// AuditID is unique per request and shared by all its stages.
	AuditID ID
	// Stage the event was written at.
	Stage Stage
	// Verb is the RBAC verb of a resource request, or the lower-case HTTP
	// method of a non-resource request.
	Verb string
	// RequestPath is requestURI without its query. The decoder fills it only
	// for non-resource requests (no objectRef), the only ones whose
	// permissions depend on the URL.
	RequestPath string
	// User is the authenticated user.
	User UserInfo
	// ImpersonatedUser is the user the request acted as, when Impersonated.
	ImpersonatedUser UserInfo
	// Impersonated reports whether the event has an impersonatedUser.
	Impersonated bool
	// ObjectRef is the object of a resource request, when HasObjectRef.
	ObjectRef ObjectRef
	// HasObjectRef is false for non-resource requests.
	HasObjectRef bool
	// Code is the HTTP status of the response; zero when not known yet.
	Code int32
	// Decision is the authorizer's verdict, when the event records it.
	Decision Decision
	// RequestReceivedNanos is the request's arrival time in Unix nanoseconds;
	// it is the same at every stage of a request, so it is the request's time.
	RequestReceivedNanos int64
}

// ActingUser is the user whose permissions the request exercised: the
// impersonated user when there is one.
func (e *Event) ActingUser() *UserInfo {
	if e.Impersonated && e.ImpersonatedUser.Username != "" {
		return &e.ImpersonatedUser
	}
	return &e.User
}

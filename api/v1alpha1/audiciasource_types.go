package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AudiciaSourceSpec says where audit events come from and how they become policy.
// +kubebuilder:validation:XValidation:rule="has(self.file) != has(self.webhook)",message="exactly one of file or webhook must be set"
type AudiciaSourceSpec struct {
	// file tails a kube-apiserver audit log (JSON lines) on the operator's node.
	// Exactly one of file and webhook must be set.
	// +optional
	File *FileSource `json:"file,omitempty"`

	// webhook receives audit events from kube-apiserver's audit webhook backend
	// over HTTPS. Exactly one of file and webhook must be set.
	// +optional
	Webhook *WebhookSource `json:"webhook,omitempty"`

	// filters is an ordered list of rules deciding which requests are kept.
	// The first rule whose given fields all match decides; a request no rule
	// matches is kept.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Filters []FilterRule `json:"filters,omitempty"`

	// ignoreSystemUsers drops requests made by `system:*` users (the control
	// plane's own components) except ServiceAccounts, which are workloads.
	// +optional
	// +kubebuilder:default=true
	IgnoreSystemUsers *bool `json:"ignoreSystemUsers,omitempty"`

	// policy tunes how observed rules become a suggested Role or ClusterRole.
	// +optional
	// +kubebuilder:default={}
	Policy PolicyStrategy `json:"policy,omitempty"`

	// groups names the groups that get a report of their own, aggregating the
	// requests of every member seen. Groups are opt-in because every
	// authenticated user is in `system:authenticated`.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Groups []string `json:"groups,omitempty"`

	// reportNamespace is where the reports of Users and Groups are written.
	// ServiceAccount reports always go to the account's own namespace, so that
	// namespace teams can read them.
	// +optional
	// +kubebuilder:default=audicia-system
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	ReportNamespace string `json:"reportNamespace,omitempty"`

	// flushInterval is how often aggregated rules are written to reports.
	// +optional
	// +kubebuilder:default="10s"
	FlushInterval *metav1.Duration `json:"flushInterval,omitempty"`

	// compliance sets how scores are graded.
	// +optional
	// +kubebuilder:default={}
	Compliance ComplianceThresholds `json:"compliance,omitempty"`

	// limits bound the memory and the size of the reports.
	// +optional
	// +kubebuilder:default={}
	Limits Limits `json:"limits,omitempty"`
}

// StartPosition says where a file source begins reading when it has no checkpoint.
// +kubebuilder:validation:Enum=Beginning;End
type StartPosition string

const (
	// StartPositionBeginning reads the whole file.
	StartPositionBeginning StartPosition = "Beginning"
	// StartPositionEnd reads only what is appended after the source starts.
	StartPositionEnd StartPosition = "End"
)

// FileSource tails an audit log file written by kube-apiserver's log backend
// (`--audit-log-path`, `--audit-log-format=json`).
type FileSource struct {
	// path is the absolute path of the audit log as the operator sees it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path"`

	// startPosition is where reading begins when no checkpoint exists yet.
	// +optional
	// +kubebuilder:default=Beginning
	StartPosition StartPosition `json:"startPosition,omitempty"`
}

// SecretReference names a Secret in the operator's namespace.
type SecretReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// WebhookSource receives EventList batches from kube-apiserver's webhook backend.
// +kubebuilder:validation:XValidation:rule="!has(self.allowedClientNames) || has(self.clientCASecretRef)",message="allowedClientNames needs clientCASecretRef: client names are known only with mutual TLS"
type WebhookSource struct {
	// port the HTTPS receiver listens on.
	// +optional
	// +kubebuilder:default=8443
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// tlsSecretRef names a `kubernetes.io/tls` Secret holding the serving
	// certificate and key. It is reloaded when the Secret changes.
	// +required
	TLSSecretRef SecretReference `json:"tlsSecretRef"`

	// clientCASecretRef names a Secret whose `ca.crt` verifies client
	// certificates. Setting it turns on mutual TLS: clients without a
	// certificate signed by this CA are refused.
	// +optional
	ClientCASecretRef *SecretReference `json:"clientCASecretRef,omitempty"`

	// allowedClientNames, with mutual TLS, lists the client certificate common
	// names or DNS SANs that may send events. Empty allows every certificate the
	// CA signed. It needs clientCASecretRef.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	AllowedClientNames []string `json:"allowedClientNames,omitempty"`

	// maxRequestBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	// +optional
	// +kubebuilder:default=10485760
	// +kubebuilder:validation:Minimum=1024
	MaxRequestBytes int64 `json:"maxRequestBytes,omitempty"`

	// maxEventsPerSecond limits the rate at which events are accepted; a batch
	// over the limit gets 429 Too Many Requests and is not marked as seen, so
	// kube-apiserver's retry is counted once. Zero means no limit.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	MaxEventsPerSecond int32 `json:"maxEventsPerSecond,omitempty"`
}

// FilterAction says what happens to a request a filter rule matches.
// +kubebuilder:validation:Enum=Allow;Deny
type FilterAction string

const (
	// FilterActionAllow keeps the request.
	FilterActionAllow FilterAction = "Allow"
	// FilterActionDeny drops the request.
	FilterActionDeny FilterAction = "Deny"
)

// FilterRule matches requests by regular expressions. Each expression is
// anchored (it must match the whole value); all given fields must match.
// +kubebuilder:validation:XValidation:rule="has(self.user) || has(self.group) || has(self.namespace) || has(self.verb) || has(self.resource)",message="a filter rule needs at least one of user, group, namespace, verb or resource"
type FilterRule struct {
	// action taken when the rule matches.
	// +required
	Action FilterAction `json:"action"`

	// user matches the acting username (the impersonated user when there is one).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	User string `json:"user,omitempty"`

	// group matches when any of the acting user's groups matches.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Group string `json:"group,omitempty"`

	// namespace matches the request's namespace; cluster-scoped requests have
	// the empty namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Namespace string `json:"namespace,omitempty"`

	// verb matches the request verb (`get`, `list`, ... or, for non-resource
	// URLs, the lower-case HTTP method).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Verb string `json:"verb,omitempty"`

	// resource matches the resource with its subresource (`pods/exec`) or, for
	// non-resource requests, the URL path (`/metrics`).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Resource string `json:"resource,omitempty"`
}

// ScopeMode says where namespaced permissions are granted.
// +kubebuilder:validation:Enum=NamespaceStrict;ClusterScopeAllowed
type ScopeMode string

const (
	// ScopeModeNamespaceStrict grants namespaced permissions with one Role per
	// namespace; only cluster-scoped resources, requests across all namespaces
	// and non-resource URLs go into the ClusterRole.
	ScopeModeNamespaceStrict ScopeMode = "NamespaceStrict"
	// ScopeModeClusterScopeAllowed puts every permission into one ClusterRole
	// bound cluster-wide: fewer objects, but namespaced permissions then hold in
	// every namespace.
	ScopeModeClusterScopeAllowed ScopeMode = "ClusterScopeAllowed"
)

// VerbMerge says how verbs and resources are combined into rules.
// +kubebuilder:validation:Enum=Smart;Exact
type VerbMerge string

const (
	// VerbMergeSmart merges, within one API group and scope, the verbs of a
	// resource into one rule, then resources with identical verbs into one rule.
	VerbMergeSmart VerbMerge = "Smart"
	// VerbMergeExact keeps one rule per API group, resource and verb.
	VerbMergeExact VerbMerge = "Exact"
)

// WildcardMode says whether `*` may appear in suggested rules.
// +kubebuilder:validation:Enum=Forbidden;Safe
type WildcardMode string

const (
	// WildcardsForbidden never writes `*`.
	WildcardsForbidden WildcardMode = "Forbidden"
	// WildcardsSafe writes verbs `*` for a resource when every verb that resource
	// supports was observed, and only for resources where `*` adds no
	// privileged verb (bind, escalate, impersonate, approve, sign).
	WildcardsSafe WildcardMode = "Safe"
)

// ResourceNameMode says whether suggested rules name the objects seen.
// +kubebuilder:validation:Enum=Omit;Explicit
type ResourceNameMode string

const (
	// ResourceNamesOmit grants access to every object of a resource.
	ResourceNamesOmit ResourceNameMode = "Omit"
	// ResourceNamesExplicit restricts rules to the object names seen, where RBAC
	// allows it: never for list, watch or deletecollection, and for create only
	// on a subresource of a named object (pods/exec, serviceaccounts/token).
	ResourceNamesExplicit ResourceNameMode = "Explicit"
)

// PolicyStrategy holds the knobs that shape the suggested RBAC.
type PolicyStrategy struct {
	// scopeMode says where namespaced permissions are granted.
	// +optional
	// +kubebuilder:default=NamespaceStrict
	ScopeMode ScopeMode `json:"scopeMode,omitempty"`

	// verbMerge says how verbs and resources are combined into rules. Neither
	// mode adds a verb that was not observed.
	// +optional
	// +kubebuilder:default=Smart
	VerbMerge VerbMerge `json:"verbMerge,omitempty"`

	// wildcards says whether `*` may be written.
	// +optional
	// +kubebuilder:default=Forbidden
	Wildcards WildcardMode `json:"wildcards,omitempty"`

	// resourceNames says whether rules name the objects seen.
	// +optional
	// +kubebuilder:default=Omit
	ResourceNames ResourceNameMode `json:"resourceNames,omitempty"`

	// migrateDeprecatedGroups rewrites removed API groups to their successors:
	// `extensions` deployments, daemonsets and replicasets to `apps`;
	// `extensions` ingresses and networkpolicies to `networking.k8s.io`.
	// +optional
	// +kubebuilder:default=true
	MigrateDeprecatedGroups *bool `json:"migrateDeprecatedGroups,omitempty"`
}

// ComplianceThresholds grade a compliance score: Green at or above green,
// Yellow at or above yellow, Red below.
// +kubebuilder:validation:XValidation:rule="!has(self.yellow) || !has(self.green) || self.yellow < self.green",message="yellow must be below green"
type ComplianceThresholds struct {
	// green is the lowest score graded Green.
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Green int32 `json:"green,omitempty"`

	// yellow is the lowest score graded Yellow.
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	Yellow int32 `json:"yellow,omitempty"`
}

// Limits bound what a source keeps in memory and writes.
type Limits struct {
	// maxRulesPerReport caps the observed rules of one subject. Requests that
	// would add a rule past the cap are counted in the report's droppedRequests.
	// +optional
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxRulesPerReport int32 `json:"maxRulesPerReport,omitempty"`

	// maxSubjects caps the subjects tracked. Requests of subjects past the cap
	// are counted in status.counters.dropped; they still count for the
	// groups named in spec.groups, which always have a report and are not
	// counted against the cap.
	// +optional
	// +kubebuilder:default=10000
	// +kubebuilder:validation:Minimum=1
	MaxSubjects int32 `json:"maxSubjects,omitempty"`

	// retention forgets observed rules not seen for this long; the report of
	// a subject left with none is deleted (a ServiceAccount that holds
	// permissions keeps one, with nothing used). Zero keeps them forever.
	// +optional
	Retention *metav1.Duration `json:"retention,omitempty"`
}

// FilePosition is a place in what a file source has read: which file, counted
// across rotations, and the byte offset after a complete line in it.
type FilePosition struct {
	// sequence counts the files the source has read, starting at 0; it grows by
	// one each time the source follows a rotation, so positions in different
	// files compare.
	Sequence int64 `json:"sequence"`

	// offset is the byte offset just after a complete line.
	Offset int64 `json:"offset"`
}

// Less reports whether p comes before o.
func (p FilePosition) Less(o FilePosition) bool {
	return p.Sequence < o.Sequence || (p.Sequence == o.Sequence && p.Offset < o.Offset)
}

// FileCheckpoint records how far a file source has read.
type FileCheckpoint struct {
	// fileIdentity identifies the file read (device and inode), so that a
	// rotated file is told apart from the one that replaced it.
	// +optional
	FileIdentity string `json:"fileIdentity,omitempty"`

	// position is where reading resumes: every line before it is covered by the
	// written reports and counters.
	// +optional
	Position FilePosition `json:"position,omitempty"`

	// fingerprint is a hash of the bytes just before the position. It lets a
	// restarted operator notice a file that was truncated and refilled while it
	// was down, and find the copy a copytruncate rotation left.
	// +optional
	Fingerprint string `json:"fingerprint,omitempty"`

	// lastEventTime is the request time of the newest event read.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`
}

// SourceCounters count what happened to the events a source received.
type SourceCounters struct {
	// received counts the audit events decoded, of every stage.
	Received int64 `json:"received"`
	// processed counts the requests aggregated into reports, each once.
	Processed int64 `json:"processed"`
	// filtered counts the requests dropped by filters or ignoreSystemUsers.
	Filtered int64 `json:"filtered"`
	// refused counts the requests refused before authorization, as when a
	// user may not impersonate whom it named: attempts to look into, not
	// permissions the user needs.
	// +optional
	Refused int64 `json:"refused,omitempty"`
	// malformed counts lines or events that could not be decoded, or whose
	// verb RBAC cannot express.
	Malformed int64 `json:"malformed"`
	// dropped counts the requests lost to limits (maxSubjects, maxRulesPerReport)
	// or to a full queue.
	Dropped int64 `json:"dropped"`
}

// AudiciaSourceStatus is the observed state of an AudiciaSource.
type AudiciaSourceStatus struct {
	// observedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready summarises Ingesting and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// checkpoint records how far a file source has read.
	// +optional
	Checkpoint *FileCheckpoint `json:"checkpoint,omitempty"`

	// counters of the events received since the source was created.
	// +optional
	Counters SourceCounters `json:"counters,omitempty"`

	// reports is the number of AudiciaPolicyReports the source writes.
	// +optional
	Reports int32 `json:"reports,omitempty"`
}

// AudiciaSource says where audit events come from and how to turn them into
// least-privilege policy. Audicia writes one AudiciaPolicyReport per subject seen.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=asrc,categories=audicia
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Processed",type=integer,JSONPath=`.status.counters.processed`
// +kubebuilder:printcolumn:name="Reports",type=integer,JSONPath=`.status.reports`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AudiciaSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says where events come from and how they become policy.
	// +required
	Spec AudiciaSourceSpec `json:"spec"`

	// status is written by the operator.
	// +optional
	Status AudiciaSourceStatus `json:"status,omitempty"`
}

// AudiciaSourceList is a list of AudiciaSources.
// +kubebuilder:object:root=true
type AudiciaSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AudiciaSource `json:"items"`
}

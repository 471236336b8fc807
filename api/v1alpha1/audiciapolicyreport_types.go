package v1alpha1

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind is the kind of identity a report is about.
// +kubebuilder:validation:Enum=ServiceAccount;User;Group
type SubjectKind string

const (
	// SubjectKindServiceAccount is a ServiceAccount (`system:serviceaccount:<ns>:<name>`).
	SubjectKindServiceAccount SubjectKind = "ServiceAccount"
	// SubjectKindUser is any other authenticated user.
	SubjectKindUser SubjectKind = "User"
	// SubjectKindGroup is a group listed in the source's spec.groups.
	SubjectKindGroup SubjectKind = "Group"
)

// Subject identifies who made the requests a report describes.
// +kubebuilder:validation:XValidation:rule="self.kind == 'ServiceAccount' ? has(self.__namespace__) : !has(self.__namespace__)",message="namespace is set for ServiceAccounts and only for them"
type Subject struct {
	// kind of the subject.
	// +required
	Kind SubjectKind `json:"kind"`

	// name of the subject: the ServiceAccount's name, the username or the group name.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// namespace of a ServiceAccount; empty for Users and Groups.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String renders the subject as a person reads it: `ServiceAccount shop/web`,
// `User alice@corp.com`.
func (s Subject) String() string {
	if s.Namespace != "" {
		return string(s.Kind) + " " + s.Namespace + "/" + s.Name
	}
	return string(s.Kind) + " " + s.Name
}

// SourceReference names the AudiciaSource a report comes from.
type SourceReference struct {
	// name of the AudiciaSource.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// AudiciaPolicyReportSpec identifies the subject and the source of a report.
type AudiciaPolicyReportSpec struct {
	// subject whose requests the report describes.
	// +required
	Subject Subject `json:"subject"`

	// sourceRef is the AudiciaSource that observed the requests.
	// +required
	SourceRef SourceReference `json:"sourceRef"`
}

// ObservedRule is one permission a subject exercised: a verb on a resource (or
// a non-resource URL) in one namespace, with how often and when.
type ObservedRule struct {
	// apiGroup of the resource; empty for the core group and for non-resource URLs.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`

	// resource, with its subresource when there is one (`pods/exec`). Empty for
	// non-resource URLs.
	// +optional
	Resource string `json:"resource,omitempty"`

	// nonResourceURL is the path of a non-resource request without its query
	// (`/healthz`). Empty for resource requests.
	// +optional
	NonResourceURL string `json:"nonResourceURL,omitempty"`

	// namespace of the request; empty for cluster-scoped resources, requests
	// across all namespaces and non-resource URLs.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// verb of the request as RBAC names it (`get`, `list`, ...; the lower-case
	// HTTP method for non-resource URLs).
	// +required
	Verb string `json:"verb"`

	// resourceNames are the object names the verb was used on. Empty when any
	// request had no name, when the verb cannot be restricted by name, or when
	// more names were seen than are kept.
	// +optional
	ResourceNames []string `json:"resourceNames,omitempty"`

	// count is the number of requests, allowed or denied.
	Count int64 `json:"count"`

	// deniedCount is the number of those requests RBAC denied (403): permissions
	// the subject asked for and lacks.
	// +optional
	DeniedCount int64 `json:"deniedCount,omitempty"`

	// firstSeen is the time of the earliest request.
	FirstSeen metav1.Time `json:"firstSeen"`

	// lastSeen is the time of the latest request.
	LastSeen metav1.Time `json:"lastSeen"`
}

// NamespaceRules are the rules suggested for one namespace.
type NamespaceRules struct {
	// namespace the Role is for.
	Namespace string `json:"namespace"`

	// rules of the Role.
	Rules []rbacv1.PolicyRule `json:"rules"`
}

// SuggestedPolicy is the least-privilege RBAC that allows every observed request.
type SuggestedPolicy struct {
	// clusterRules go into a ClusterRole bound cluster-wide: cluster-scoped
	// resources, requests across all namespaces and non-resource URLs (and,
	// with scopeMode ClusterScopeAllowed, everything).
	// +optional
	ClusterRules []rbacv1.PolicyRule `json:"clusterRules,omitempty"`

	// namespaceRules go into one Role per namespace.
	// +optional
	NamespaceRules []NamespaceRules `json:"namespaceRules,omitempty"`

	// manifest is the multi-document YAML of the Roles, ClusterRoles and their
	// bindings, ready for `kubectl apply -f -` after review.
	// +optional
	Manifest string `json:"manifest,omitempty"`
}

// Severity grades a compliance score.
// +kubebuilder:validation:Enum=Green;Yellow;Red
type Severity string

const (
	// SeverityGreen: the subject uses most of what it is granted.
	SeverityGreen Severity = "Green"
	// SeverityYellow: a sizeable part of what it is granted is unused.
	SeverityYellow Severity = "Yellow"
	// SeverityRed: most of what it is granted is unused.
	SeverityRed Severity = "Red"
)

// ScopedRule is a rule with the namespace it applies in.
type ScopedRule struct {
	// namespace where the rule applies; empty means cluster-wide: every
	// namespace for a namespaced resource, or a cluster-scoped resource or URL.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// The rule: one API group and resource, or one non-resource URL, with
	// its verbs.
	rbacv1.PolicyRule `json:",inline"`
}

// BindingReference names a binding and the role it grants.
type BindingReference struct {
	// kind of the binding: ClusterRoleBinding or RoleBinding.
	Kind string `json:"kind"`
	// namespace of a RoleBinding; empty for a ClusterRoleBinding.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the binding.
	Name string `json:"name"`
	// roleKind is ClusterRole or Role.
	RoleKind string `json:"roleKind"`
	// roleName is the name of the role.
	RoleName string `json:"roleName"`
}

// Compliance compares what live RBAC grants the subject with what it used.
// Grants are expanded over the cluster's discovered API resources into atoms
// (API group, resource, verb, scope), so breadth counts: cluster-admin used
// for one `get pods` scores near 0.
type Compliance struct {
	// score is 100 × used / granted, rounded down. A subject granted nothing
	// beyond the baseline scores 100: it holds nothing in excess, and what it
	// lacks shows in uncovered and in drift.missing instead.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Score int32 `json:"score"`

	// severity grades the score with the source's thresholds.
	Severity Severity `json:"severity"`

	// granted counts the atoms the subject's bindings grant, leaving out
	// what every authenticated caller holds.
	Granted int32 `json:"granted"`

	// used counts the granted atoms at least one allowed request exercised.
	Used int32 `json:"used"`

	// excess counts the granted atoms never used (granted - used).
	Excess int32 `json:"excess"`

	// uncovered counts the observed rules no grant allows: what the denied
	// requests asked for.
	Uncovered int32 `json:"uncovered"`

	// excessRules are the unused grants, verbs merged, at most 50.
	// +optional
	ExcessRules []ScopedRule `json:"excessRules,omitempty"`

	// uncoveredRules are the observed requests no grant allows, at most 50.
	// +optional
	UncoveredRules []ScopedRule `json:"uncoveredRules,omitempty"`

	// sensitiveExcess lists the unused grants that matter most (secrets,
	// nodes, RBAC objects, admission webhooks, certificate signing requests,
	// token and access reviews, persistent volumes, storage classes, CRDs,
	// serviceaccounts/token, pods/exec, pods/attach; escalate, bind and
	// impersonate), one line per resource and scope.
	// +optional
	SensitiveExcess []string `json:"sensitiveExcess,omitempty"`

	// bindings are the bindings that grant the scored permissions.
	// +optional
	Bindings []BindingReference `json:"bindings,omitempty"`

	// baselineBindings grant what every authenticated caller holds: shown,
	// not scored.
	// +optional
	BaselineBindings []BindingReference `json:"baselineBindings,omitempty"`

	// evaluatedAt is when the score was computed.
	EvaluatedAt metav1.Time `json:"evaluatedAt"`
}

// Drift compares the subject's needs with its grants, so that a reviewer sees
// what applying the suggested policy adds and what retiring the old grants
// takes away.
type Drift struct {
	// missing is needed and not granted: what the denied requests asked for.
	// Applying the suggested policy adds it. At most 50.
	// +optional
	Missing []ScopedRule `json:"missing,omitempty"`

	// excess is granted and never requested. Replacing the old grants with
	// the suggested policy takes it away. At most 50.
	// +optional
	Excess []ScopedRule `json:"excess,omitempty"`
}

// AudiciaPolicyReportStatus is what Audicia learned about the subject.
type AudiciaPolicyReportStatus struct {
	// observedRules are the permissions the subject exercised, sorted by API
	// group, resource, URL, namespace and verb.
	// +optional
	ObservedRules []ObservedRule `json:"observedRules,omitempty"`

	// ruleCount is the number of observedRules.
	// +optional
	RuleCount int32 `json:"ruleCount,omitempty"`

	// suggestedPolicy is the least-privilege RBAC for the observed rules.
	// +optional
	SuggestedPolicy *SuggestedPolicy `json:"suggestedPolicy,omitempty"`

	// eventsObserved is the number of requests counted for the subject.
	// +optional
	EventsObserved int64 `json:"eventsObserved,omitempty"`

	// droppedRequests counts requests not recorded because the report reached
	// the source's limits.maxRulesPerReport.
	// +optional
	DroppedRequests int64 `json:"droppedRequests,omitempty"`

	// lastEventTime is the time of the subject's latest request.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`

	// groups are the groups the subject was seen in (from its audit events,
	// at most 64): its live RBAC includes the bindings to them.
	// +optional
	Groups []string `json:"groups,omitempty"`

	// compliance scores the subject's live RBAC against what it used.
	// +optional
	Compliance *Compliance `json:"compliance,omitempty"`

	// drift is what applying the suggested policy adds and what retiring the
	// current grants takes away.
	// +optional
	Drift *Drift `json:"drift,omitempty"`

	// sourcePosition, for a file source, is how far the source had read when
	// this status was written. A restarted operator that reads those lines again
	// skips them for this subject, so no request is counted twice.
	// +optional
	SourcePosition *FilePosition `json:"sourcePosition,omitempty"`

	// conditions describe the state of the report.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AudiciaPolicyReport describes what one subject did, as seen by one source,
// and the least-privilege RBAC that allows it. Audicia writes it; people
// review the suggested manifest and apply it themselves.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=apr,categories=audicia
// +kubebuilder:printcolumn:name="Subject",type=string,JSONPath=`.spec.subject.name`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.subject.kind`
// +kubebuilder:printcolumn:name="Compliance",type=string,JSONPath=`.status.compliance.severity`
// +kubebuilder:printcolumn:name="Score",type=integer,JSONPath=`.status.compliance.score`
// +kubebuilder:printcolumn:name="Rules",type=integer,JSONPath=`.status.ruleCount`
// +kubebuilder:printcolumn:name="Requests",type=integer,JSONPath=`.status.eventsObserved`
// +kubebuilder:printcolumn:name="Last Seen",type=date,JSONPath=`.status.lastEventTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AudiciaPolicyReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec identifies the subject and the source.
	// +required
	Spec AudiciaPolicyReportSpec `json:"spec"`

	// status is written by the operator.
	// +optional
	Status AudiciaPolicyReportStatus `json:"status,omitempty"`
}

// AudiciaPolicyReportList is a list of AudiciaPolicyReports.
// +kubebuilder:object:root=true
type AudiciaPolicyReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AudiciaPolicyReport `json:"items"`
}

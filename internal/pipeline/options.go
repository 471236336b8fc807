package pipeline

import "github.com/audicia/audicia/api/v1alpha1"

// OptionsFromSpec returns the pipeline options an AudiciaSource asks for. Unset
// fields take the API's defaults, so a spec that skipped admission defaulting
// behaves like one that did not.
func OptionsFromSpec(spec *v1alpha1.AudiciaSourceSpec) Options {
	return Options{
		Filters:                 spec.Filters,
		IgnoreSystemUsers:       spec.IgnoreSystemUsers == nil || *spec.IgnoreSystemUsers,
		MigrateDeprecatedGroups: spec.Policy.MigrateDeprecatedGroups == nil || *spec.Policy.MigrateDeprecatedGroups,
		Groups:                  spec.Groups,
		MaxSubjects:             int(spec.Limits.MaxSubjects),
		MaxRulesPerSubject:      int(spec.Limits.MaxRulesPerReport),
	}
}

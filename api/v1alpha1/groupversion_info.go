package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of the Audicia types.
	GroupVersion = schema.GroupVersion{Group: "audicia.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Audicia types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the Audicia types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&AudiciaSource{}, &AudiciaSourceList{},
		&AudiciaPolicyReport{}, &AudiciaPolicyReportList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

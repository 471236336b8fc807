package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of the Audicia types.
	GroupVersion = schema.GroupVersion{Group: "audicia.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Audicia types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Audicia types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

package pipeline

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAtomHoldsFiveStrings keeps atomTable.recent honest: it compares atoms
// by their five strings' identity, and a field it does not know of would
// make different atoms look the same.
func TestAtomHoldsFiveStrings(t *testing.T) {
	typ := reflect.TypeFor[Atom]()
	require.Equal(t, 5, typ.NumField())
	for i := range typ.NumField() {
		require.Equal(t, reflect.String, typ.Field(i).Type.Kind(), typ.Field(i).Name)
	}
}

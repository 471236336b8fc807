package chart

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// tableKey matches the key column of the values table in the chart's README.
var tableKey = regexp.MustCompile("(?m)^\\| `([A-Za-z0-9_.]+)` \\|")

// TestValuesDocumented keeps values.yaml and the README's values table in
// sync: every value is in the table (a map may be documented as a whole, as
// podSecurityContext is, or key by key), and every key in the table is a value.
func TestValuesDocumented(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.yaml")
	require.NoError(t, err)
	var values map[string]any
	require.NoError(t, yaml.Unmarshal(data, &values))
	readme, err := os.ReadFile(chartDir + "/README.md")
	require.NoError(t, err)

	documented := map[string]bool{}
	for _, m := range tableKey.FindAllStringSubmatch(string(readme), -1) {
		assert.False(t, documented[m[1]], "%s is in the values table twice", m[1])
		documented[m[1]] = true
	}
	require.NotEmpty(t, documented, "the README has a values table")

	var missing []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if documented[prefix] {
			return
		}
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, child := range m {
				walk(strings.TrimPrefix(prefix+"."+k, "."), child)
			}
			return
		}
		missing = append(missing, prefix)
	}
	walk("", values)
	sort.Strings(missing)
	assert.Empty(t, missing, "values missing from the table in charts/audicia/README.md")

	for key := range documented {
		assert.True(t, lookupValue(values, key), "the README documents %s, which is not in values.yaml", key)
	}
}

// lookupValue reports whether the dotted key is in values.
func lookupValue(values map[string]any, key string) bool {
	var cur any = values
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

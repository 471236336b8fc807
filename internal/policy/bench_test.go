package policy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
	"github.com/audicia/audicia/test/bench"
)

// realisticStrategies are the default strategy and each knob turned away
// from its default, so every path of Build runs on realistic input.
var realisticStrategies = []struct {
	name     string
	strategy v1alpha1.PolicyStrategy
}{
	{"default", v1alpha1.PolicyStrategy{}},
	{"clusterscope", v1alpha1.PolicyStrategy{ScopeMode: v1alpha1.ScopeModeClusterScopeAllowed}},
	{"exact", v1alpha1.PolicyStrategy{VerbMerge: v1alpha1.VerbMergeExact}},
	{"safe", v1alpha1.PolicyStrategy{Wildcards: v1alpha1.WildcardsSafe}},
	{"explicit", v1alpha1.PolicyStrategy{ResourceNames: v1alpha1.ResourceNamesExplicit}},
}

// realisticReports returns the subject reports of a generated log of 200,000
// requests, aggregated as `audicia analyze` does. They are worked out once
// per test binary: generating and decoding take longer than building.
var realisticReports = sync.OnceValues(func() ([]pipeline.SubjectReport, error) {
	var buf bytes.Buffer
	if _, err := bench.Generate(&buf, 200000, 1); err != nil {
		return nil, err
	}
	p, err := pipeline.New(pipeline.Options{IgnoreSystemUsers: true, MigrateDeprecatedGroups: true})
	if err != nil {
		return nil, err
	}
	if _, err := audit.Stream(&buf, audit.StreamOptions{}, func(batch []audit.Event) {
		for i := range batch {
			p.Observe(&batch[i])
		}
	}); err != nil {
		return nil, err
	}
	return p.Reports(), nil
})

// TestBuildRealistic pins what Build makes of a realistic log, per strategy,
// as a digest of every policy's fields and manifest (testdata holds them;
// regenerate with -update when a change of output is intended). It also
// checks that the manifest is what Render makes of Objects, the typed form of
// the same objects.
func TestBuildRealistic(t *testing.T) {
	reports, err := realisticReports()
	require.NoError(t, err)
	var got strings.Builder
	for _, st := range realisticStrategies {
		h := sha256.New()
		for _, r := range reports {
			sp := policy.Build(r.Subject, r.Rules, st.strategy)
			fmt.Fprintf(h, "%#v\n", sp)
			rendered, err := policy.Render(policy.Objects(r.Subject, sp))
			require.NoError(t, err)
			if !assert.Equal(t, rendered, sp.Manifest, "%s: %s", st.name, r.Subject) {
				return
			}
		}
		fmt.Fprintf(&got, "%s %s\n", st.name, hex.EncodeToString(h.Sum(nil)))
	}
	path := filepath.Join("testdata", "realistic.digest")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "create it with: go test ./internal/policy -run Realistic -update")
	assert.Equal(t, string(want), got.String(),
		"Build's output for the generated log changed: by a change here, or in the generator or pipeline "+
			"(regenerate with -update if intended)")
}

// BenchmarkBuild builds the policy of every subject of a realistic log, per
// strategy; ns/rule is the cost per observed rule.
func BenchmarkBuild(b *testing.B) {
	reports, err := realisticReports()
	if err != nil {
		b.Fatal(err)
	}
	rules := 0
	for _, r := range reports {
		rules += len(r.Rules)
	}
	for _, st := range realisticStrategies {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range reports {
					policy.Build(r.Subject, r.Rules, st.strategy)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rules), "ns/rule")
		})
	}
}

package cli

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
)

func TestColourSeverity(t *testing.T) {
	for severity, code := range map[string]string{"Green": "\x1b[32m", "Yellow": "\x1b[33m", "Red": "\x1b[31m"} {
		// The cell is coloured, its padding is not.
		assert.Equal(t, code+severity+"\x1b[0m   ", colourSeverity(severity, severity+"   "))
		assert.Equal(t, code+severity+"\x1b[0m", colourSeverity(severity, severity))
	}
	for _, plain := range []string{"-", "", "Purple", "green"} {
		assert.Equal(t, plain+"  ", colourSeverity(plain, plain+"  "))
	}
}

// ansi matches the colour codes colourSeverity writes.
var ansi = regexp.MustCompile("\x1b\\[[0-9]+m")

// With colour, the table is the same as without once the codes are removed:
// colour never shifts a column.
func TestReportTableColour(t *testing.T) {
	reports := []v1alpha1.AudiciaPolicyReport{
		testReport(v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice"}, "a", v1alpha1.ObservedRule{Verb: "get", Resource: "pods", Count: 3, DeniedCount: 1}),
		testReport(v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}, "b"),
		testReport(v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: "devs"}, "c"),
		testReport(v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "bob"}, "d"),
	}
	reports[0].Status.Compliance = &v1alpha1.Compliance{Score: 3, Severity: v1alpha1.SeverityRed}
	reports[1].Status.Compliance = &v1alpha1.Compliance{Score: 100, Severity: v1alpha1.SeverityGreen}
	reports[2].Status.Compliance = &v1alpha1.Compliance{Score: 55, Severity: v1alpha1.SeverityYellow}
	var plain, coloured bytes.Buffer
	require.NoError(t, writeReportTable(&plain, reports, false))
	require.NoError(t, writeReportTable(&coloured, reports, true))
	assert.Equal(t, plain.String(), ansi.ReplaceAllString(coloured.String(), ""))
	assert.Equal(t, `NAMESPACE   SUBJECT                   SOURCE   RULES   REQUESTS   DENIED   SEVERITY   SCORE   LAST SEEN
ns          User/alice                a        1       3          1        Red        3       -
ns          ServiceAccount/shop/web   b        0       0          0        Green      100     -
ns          Group/devs                c        0       0          0        Yellow     55      -
ns          User/bob                  d        0       0          0        -          -       -
`, plain.String())
	assert.Contains(t, coloured.String(), "   \x1b[31mRed\x1b[0m        3   ")
	assert.Contains(t, coloured.String(), "   \x1b[32mGreen\x1b[0m      100   ")
	assert.Contains(t, coloured.String(), "   \x1b[33mYellow\x1b[0m     55   ")
	assert.Contains(t, coloured.String(), "   -          -   ")
	for _, line := range strings.Split(plain.String(), "\n") {
		assert.Equal(t, strings.TrimRight(line, " "), line, "no trailing spaces")
	}
}

// Buffers, pipes and files are not terminals: get never colours them.
func TestIsTerminal(t *testing.T) {
	assert.False(t, isTerminal(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(w))
	f, err := os.Create(t.TempDir() + "/out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))
}

package clitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

// get -A prints every report as a table, without colour: stdout is not a
// terminal.
func TestGetTable(t *testing.T) {
	out, stderr, err := run(t, "get", "-A")
	require.NoError(t, err, stderr)
	assert.NotContains(t, out, "\x1b[", "no colour when stdout is not a terminal")
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), len(reports)+1, "a header and a line per report")
	golden(t, "kubectl-get.golden", out)
}

// get narrows by namespace, subject and source.
func TestGetSelects(t *testing.T) {
	rows := func(t *testing.T, args ...string) []string {
		t.Helper()
		out, stderr, err := run(t, append([]string{"get"}, args...)...)
		require.NoError(t, err, stderr)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.True(t, strings.HasPrefix(lines[0], "NAMESPACE "), out)
		return lines[1:]
	}
	for _, line := range rows(t, "-n", "shop") {
		assert.True(t, strings.HasPrefix(line, "shop "), line)
	}
	// ServiceAccount shop/web in all its spellings, seen by two sources.
	for _, subject := range []string{"sa:shop:web", "shop/web", "ServiceAccount/shop/web", "system:serviceaccount:shop:web"} {
		got := rows(t, subject)
		require.Len(t, got, 2, subject)
		assert.Contains(t, got[0], " "+replaySource+" ")
		assert.Contains(t, got[1], " "+scenarioSource+" ")
	}
	assert.Len(t, rows(t, "shop/web", "--source", scenarioSource), 1)
	// A user's report is found in whichever namespace holds it.
	got := rows(t, "user:dana@example.com")
	require.Len(t, got, 1)
	assert.Regexp(t, `^audicia-system +User/dana@example.com +scenario +4 +4 +4 +- +- +2026-`, got[0])
	// The current namespace (the kubeconfig's context sets none: default) has no reports.
	out, stderr, err := run(t, "get")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, "No AudiciaPolicyReports found in namespace default.\n", stderr)
	_, stderr, err = run(t, "get", "-A", "--source", "nope")
	require.NoError(t, err)
	assert.Equal(t, "No AudiciaPolicyReports found in any namespace from source nope.\n", stderr)
	dir := filepath.Join(t.TempDir(), "rbac")
	out, stderr, err = run(t, "export", "-n", "billing", "--source", "nope", "--dir", dir)
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, "No AudiciaPolicyReports found in namespace billing from source nope.\n", stderr)
	assert.NoDirExists(t, dir)
}

// export writes a file per report and a kustomization.yaml, and the result
// applies cleanly with a server-side dry run.
func TestExportAppliesWithServerDryRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rbac")

	// shop/web has reports of two sources that suggest the same objects.
	_, _, err := run(t, "export", "-A", "--dir", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ServiceAccount shop/web (sources replay, scenario)")
	assert.Contains(t, err.Error(), "--source")
	assert.NoDirExists(t, dir, "nothing is written when export refuses")

	out, stderr, err := run(t, "export", "-A", "--source", scenarioSource, "--dir", dir)
	require.NoError(t, err, stderr)
	var want []string
	for _, r := range reports {
		if r.Spec.SourceRef.Name != scenarioSource {
			continue
		}
		name := r.Name + ".yaml"
		want = append(want, name)
		assert.Contains(t, out, "wrote "+filepath.Join(dir, name)+": "+r.Spec.Subject.String()+" from source scenario\n")
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		header := "# Written by kubectl audicia export: the least-privilege RBAC Audicia suggests. Review before applying.\n" +
			"# Subject: " + r.Spec.Subject.String() + "\n" +
			"# Source: AudiciaSource scenario (report " + r.Namespace + "/" + r.Name + ")\n"
		assert.True(t, strings.HasPrefix(string(data), header), "%s opens with\n%s", name, data[:min(len(data), 400)])
		assert.True(t, strings.HasSuffix(string(data), r.Status.SuggestedPolicy.Manifest), name)
	}
	slices.Sort(want)
	assert.Contains(t, out, "wrote "+filepath.Join(dir, "kustomization.yaml")+", listing 6 files\n")

	var kustomization struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, &kustomization))
	assert.Equal(t, "Kustomization", kustomization.Kind)
	assert.Equal(t, want, kustomization.Resources, "every file, sorted")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(want)+1, "nothing else in the directory")

	// The real API server accepts every object: valid RBAC, existing
	// namespaces, no escalation the admin could not grant.
	applied := kubectlApply(t, "-k", dir)
	objects := 0
	for _, r := range reports {
		if r.Spec.SourceRef.Name == scenarioSource {
			objects += len(policy.Objects(r.Spec.Subject, *r.Status.SuggestedPolicy))
		}
	}
	assert.Equal(t, objects, strings.Count(applied, "created (server dry run)"), applied)
	for _, f := range want {
		kubectlApply(t, "-f", filepath.Join(dir, f))
	}
	// A dry run creates nothing.
	var role rbacv1.Role
	err = k8sClient.Get(t.Context(), client.ObjectKey{Namespace: "shop", Name: policy.ObjectName(reports[0].Spec.Subject)}, &role)
	assert.True(t, apierrors.IsNotFound(err), "%v", err)

	// A second export overwrites what the first wrote.
	_, stderr, err = run(t, "export", "-A", "--source", scenarioSource, "--dir", dir)
	require.NoError(t, err, stderr)
	assert.Empty(t, stderr)
}

// kubectlApply runs kubectl apply --dry-run=server with the arguments as the
// envtest admin and returns its output.
func kubectlApply(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), kubectl, append([]string{"--kubeconfig", kubeconfig, "apply", "--dry-run=server"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kubectl apply --dry-run=server %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// explain shows the requests behind each rule of ServiceAccount shop/web's
// suggestion.
func TestExplain(t *testing.T) {
	out, stderr, err := run(t, "explain", "sa:shop:web", "--source", scenarioSource)
	require.NoError(t, err, stderr)
	golden(t, "kubectl-explain-shop-web.golden", out)

	// Every observed rule is shown once, under the rule that allows it.
	var web v1alpha1.AudiciaPolicyReport
	for _, r := range reports {
		if r.Spec.Subject.Name == "web" && r.Spec.SourceRef.Name == scenarioSource {
			web = r
		}
	}
	lines := regexp.MustCompile(`(?m)^    (DENIED|allowed) `).FindAllStringSubmatch(out, -1)
	require.Len(t, lines, len(web.Status.ObservedRules))
	denied := 0
	for _, o := range web.Status.ObservedRules {
		if o.DeniedCount > 0 {
			denied++
		}
	}
	assert.Equal(t, denied, strings.Count(out, "\n    DENIED "))
	assert.NotContains(t, out, "no rule of the suggested policy allows")

	// Without --source, the report of each source.
	out, stderr, err = run(t, "explain", "shop/web")
	require.NoError(t, err, stderr)
	assert.Equal(t, 2, strings.Count(out, "ServiceAccount shop/web, as AudiciaSource "), out)
}

// Unknown subjects, bad syntax and an unreachable cluster say what is wrong.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"explain", "sa:shop:wbe"}, []string{
			"no AudiciaPolicyReport found for ServiceAccount shop/wbe in namespace shop; similar subjects with reports:\n  ServiceAccount/shop/web"}},
		{[]string{"get", "sa:shpo:web"}, []string{"in namespace shpo", "ServiceAccount/shop/web"}},
		{[]string{"explain", "user:dana"}, []string{"no AudiciaPolicyReport found for User dana;", "User/dana@example.com"}},
		{[]string{"explain", "shop/web", "--source", "nope"}, []string{"for ServiceAccount shop/web from source nope in namespace shop (and no reports at all from source nope; kubeconfig "}},
		{[]string{"explain", "group:nobody-like-this-at-all"}, []string{"other reports exist: `audicia get -A` lists them"}},
		{[]string{"explain", "web"}, []string{`subject "web": expected sa:NAMESPACE:NAME or NAMESPACE/NAME (a ServiceAccount), user:NAME or group:NAME`}},
		{[]string{"get", "robot:x"}, []string{`subject "robot:x": expected`}},
		{[]string{"get", "sa:shop"}, []string{`subject "sa:shop": expected`}},
		{[]string{"explain"}, []string{"accepts 1 arg(s), received 0"}},
		{[]string{"export", "-A"}, []string{`required flag(s) "dir" not set`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := run(t, tc.args...)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, out)
		})
	}
}

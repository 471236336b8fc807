package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
	"github.com/audicia/audicia/internal/policy/policytest"
	"github.com/audicia/audicia/test/bench"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const sharedTestdata = "../../../shared/testdata"

func sharedLog(name string) string { return filepath.Join(sharedTestdata, name) }

var (
	scenarioLog  = sharedLog("kube-apiserver-v1.34-scenario.audit.log")
	bootstrapLog = sharedLog("kube-apiserver-v1.34-bootstrap.audit.log")
)

// generatedLog writes a synthetic log of the given size once per test binary.
func generatedLog(t *testing.T, requests int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "generated.audit.log")
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = bench.Generate(f, requests, 7)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return path
}

// analyze runs `audicia analyze` with the arguments and returns stdout and stderr.
func analyze(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := NewRootCommand(&stdout, &stderr)
	cmd.SetArgs(append([]string{"analyze"}, args...))
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// observedRequest is one request of a log as RBAC will judge it, worked out
// from the upstream audit types, independently of the pipeline.
type observedRequest struct {
	subject v1alpha1.Subject
	rule    v1alpha1.ObservedRule
	line    int
}

var migrated = map[[2]string]string{
	{"extensions", "deployments"}: "apps", {"extensions", "daemonsets"}: "apps", {"extensions", "replicasets"}: "apps",
	{"extensions", "ingresses"}: "networking.k8s.io", {"extensions", "networkpolicies"}: "networking.k8s.io",
}

// requestsOf lists every request of the log that holds a permission: counted
// once, not a 401 nor refused before authorization, not a system component
// (ignored by default).
func requestsOf(t *testing.T, path string) []observedRequest {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	seen := map[string]bool{}
	var out []observedRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e auditv1.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "%s:%d", path, line)
		if e.Stage == auditv1.StageRequestReceived || seen[string(e.AuditID)] {
			continue
		}
		seen[string(e.AuditID)] = true
		u := e.User
		if e.ImpersonatedUser != nil {
			u = *e.ImpersonatedUser
		}
		if u.Username == "" || (e.ResponseStatus != nil && e.ResponseStatus.Code == 401) {
			continue
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 && e.Annotations["authorization.k8s.io/decision"] == "" {
			continue // refused before authorization: a failed impersonation
		}
		subject := v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: u.Username}
		if parts := strings.Split(u.Username, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
			subject = v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: parts[2], Name: parts[3]}
		} else if strings.HasPrefix(u.Username, "system:") {
			continue
		}
		r := v1alpha1.ObservedRule{Verb: e.Verb}
		if ref := e.ObjectRef; ref != nil {
			r.APIGroup, r.Resource = ref.APIGroup, ref.Resource
			if g, ok := migrated[[2]string{ref.APIGroup, ref.Resource}]; ok {
				r.APIGroup = g
			}
			if ref.Subresource != "" {
				r.Resource += "/" + ref.Subresource
			}
			if !policy.IsClusterScoped(r.APIGroup, ref.Resource) {
				r.Namespace = ref.Namespace
			}
			if ref.Name != "" {
				r.ResourceNames = []string{ref.Name}
			}
		} else {
			r.NonResourceURL, _, _ = strings.Cut(e.RequestURI, "?")
		}
		out = append(out, observedRequest{subject: subject, rule: r, line: line})
	}
	require.NoError(t, sc.Err())
	return out
}

// manifestsBySubject splits `analyze -o json` into each subject's RBAC objects.
func manifestsBySubject(t *testing.T, out string) map[v1alpha1.Subject]string {
	t.Helper()
	var list struct {
		Items []v1alpha1.AudiciaPolicyReport `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	m := map[v1alpha1.Subject]string{}
	for _, r := range list.Items {
		require.NotNil(t, r.Status.SuggestedPolicy)
		m[r.Spec.Subject] = r.Status.SuggestedPolicy.Manifest
	}
	return m
}

func TestSuggestedRBACAllowsEveryRequest(t *testing.T) {
	logs := []string{scenarioLog, bootstrapLog, generatedLog(t, 3000)}
	knobs := [][]string{
		{"--scope-mode", "NamespaceStrict", "--verb-merge", "Smart", "--wildcards", "Forbidden", "--resource-names", "Omit"},
		{"--scope-mode", "ClusterScopeAllowed", "--verb-merge", "Exact", "--wildcards", "Safe", "--resource-names", "Explicit"},
		{"--scope-mode", "NamespaceStrict", "--verb-merge", "Exact", "--wildcards", "Safe", "--resource-names", "Explicit"},
		{"--scope-mode", "ClusterScopeAllowed", "--verb-merge", "Smart", "--wildcards", "Forbidden", "--resource-names", "Omit"},
	}
	for _, log := range logs {
		requests := requestsOf(t, log)
		require.NotEmpty(t, requests)
		for _, k := range knobs {
			t.Run(filepath.Base(log)+strings.Join(k, " "), func(t *testing.T) {
				out, _, err := analyze(t, append([]string{"-f", log, "-o", "json"}, k...)...)
				require.NoError(t, err)
				manifests := manifestsBySubject(t, out)
				objects := map[v1alpha1.Subject][]client.Object{}
				for s, m := range manifests {
					objs, err := policytest.ParseManifest(m)
					require.NoError(t, err)
					objects[s] = objs
				}
				for _, r := range requests {
					objs, ok := objects[r.subject]
					require.True(t, ok, "%s:%d: no report for %s", log, r.line, r.subject)
					assert.True(t, policytest.Allows(objs, r.subject, r.rule), "%s:%d: %s is not allowed %+v", log, r.line, r.subject, r.rule)
				}
			})
		}
	}
}

// Manifests are rendered into buffers reused from subject to subject: each
// subject's, in JSON and in YAML, must be what policy.Build renders for its
// observed rules, and the YAML output their concatenation in report order.
func TestManifestsAreEachSubjectsOwn(t *testing.T) {
	log := generatedLog(t, 3000)
	out, _, err := analyze(t, "-f", log, "-o", "json")
	require.NoError(t, err)
	var list struct {
		Items []v1alpha1.AudiciaPolicyReport `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Greater(t, len(list.Items), 100, "enough subjects to reuse buffers")
	strategy := v1alpha1.PolicyStrategy{
		ScopeMode: v1alpha1.ScopeModeNamespaceStrict, VerbMerge: v1alpha1.VerbMergeSmart,
		Wildcards: v1alpha1.WildcardsForbidden, ResourceNames: v1alpha1.ResourceNamesOmit,
	}
	wantYAML := make([]string, 0, len(list.Items))
	for _, r := range list.Items {
		want := policy.Build(r.Spec.Subject, r.Status.ObservedRules, strategy).Manifest
		require.Equal(t, want, r.Status.SuggestedPolicy.Manifest, "%s", r.Spec.Subject)
		wantYAML = append(wantYAML, want)
	}
	yamlOut, _, err := analyze(t, "-f", log)
	require.NoError(t, err)
	// Subjects are separated by "---" and each starts with a comment line;
	// the documents of a manifest never do.
	subjects := strings.Split(strings.TrimPrefix(yamlOut, "# "), "---\n# ")
	require.Len(t, subjects, len(wantYAML))
	for i, subject := range subjects {
		_, manifest, _ := strings.Cut(subject, "\n")
		require.Equal(t, wantYAML[i], manifest, "subject %d", i)
	}
}

func TestOutputIsTheSameInAnyOrder(t *testing.T) {
	data, err := os.ReadFile(scenarioLog)
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimRight(string(data), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\n") + "\n"
	}
	wantYAML, _, err := analyze(t, "-f", scenarioLog)
	require.NoError(t, err)
	wantJSON, _, err := analyze(t, "-f", scenarioLog, "-o", "json")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 10 {
		rng.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
		path := filepath.Join(t.TempDir(), "shuffled.log")
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644))
		gotYAML, _, err := analyze(t, "-f", path)
		require.NoError(t, err)
		require.Equal(t, wantYAML, gotYAML, "shuffle %d", i)
		gotJSON, _, err := analyze(t, "-f", path, "-o", "json")
		require.NoError(t, err)
		require.Equal(t, wantJSON, gotJSON, "shuffle %d", i)
	}
}

func TestScenarioGolden(t *testing.T) {
	for name, args := range map[string][]string{
		"scenario.yaml.golden":  {"-f", scenarioLog},
		"scenario.table.golden": {"-f", scenarioLog, "-o", "table"},
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := analyze(t, args...)
			require.NoError(t, err)
			golden := filepath.Join("testdata", name)
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./internal/cli -update to create it")
			assert.Equal(t, string(want), out)
		})
	}
}

func TestSummaryAndMalformedLines(t *testing.T) {
	data, err := os.ReadFile(bootstrapLog)
	require.NoError(t, err)
	bad := append([]byte("not json\n{\"kind\":\"Event\",\"stage\":\n\n"), data...)
	bad = append(bad, []byte("{\"truncated\n")...)
	path := filepath.Join(t.TempDir(), "bad.log")
	require.NoError(t, os.WriteFile(path, bad, 0o644))

	clean, _, err := analyze(t, "-f", bootstrapLog)
	require.NoError(t, err)
	out, stderr, err := analyze(t, "-f", path)
	require.NoError(t, err, "malformed lines are never fatal")
	assert.Equal(t, clean, out, "malformed lines lose nothing else")
	assert.Contains(t, stderr, "3 malformed")
	assert.Contains(t, stderr, "read 43 lines")
}

func TestInputs(t *testing.T) {
	want, _, err := analyze(t, "-f", scenarioLog, "-f", bootstrapLog)
	require.NoError(t, err)

	data, err := os.ReadFile(bootstrapLog)
	require.NoError(t, err)
	gz := filepath.Join(t.TempDir(), "bootstrap.log.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(gz, buf.Bytes(), 0o644))
	got, _, err := analyze(t, "-f", scenarioLog, "-f", gz)
	require.NoError(t, err)
	assert.Equal(t, want, got, "gzip input")

	var list bytes.Buffer
	list.WriteString("{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n")
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if i > 0 {
			list.WriteString(",\n")
		}
		list.Write(line)
	}
	list.WriteString("\n  ]\n}\n")
	doc := filepath.Join(t.TempDir(), "eventlist.json")
	require.NoError(t, os.WriteFile(doc, list.Bytes(), 0o644))
	got, _, err = analyze(t, "-f", scenarioLog, "-f", doc)
	require.NoError(t, err)
	assert.Equal(t, want, got, "a pretty-printed EventList")
}

func TestSelectionAndOutDir(t *testing.T) {
	out, stderr, err := analyze(t, "-f", scenarioLog, "--serviceaccount", "shop:web", "--user", "erin@example.com", "-o", "table")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[1], "web")
	assert.Contains(t, lines[2], "erin@example.com")
	assert.NotContains(t, stderr, "warning")

	// The form get and explain take works too; a subject not in the log is named.
	out, stderr, err = analyze(t, "-f", scenarioLog, "--serviceaccount", "shop/web", "--serviceaccount", "shop:webb", "-o", "table")
	require.NoError(t, err)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2)
	assert.Contains(t, stderr, "audicia: warning: no request of ServiceAccount shop/webb was counted")

	out, _, err = analyze(t, "-f", scenarioLog, "--group", "developers", "-o", "table")
	require.NoError(t, err)
	assert.Contains(t, out, "Group")
	assert.Contains(t, out, "developers")

	dir := filepath.Join(t.TempDir(), "rbac")
	_, stderr, err = analyze(t, "-f", scenarioLog, "--out-dir", dir)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	assert.Len(t, files, 6)
	assert.Contains(t, stderr, "wrote")
	web, err := os.ReadFile(filepath.Join(dir, policy.SubjectSlug(v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"})+".yaml"))
	require.NoError(t, err)
	objs, err := policytest.ParseManifest(string(web))
	require.NoError(t, err)
	assert.NotEmpty(t, objs)
}

func TestErrorsNameTheProblem(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"missing file":       {[]string{"-f", "/nonexistent/audit.log"}, "/nonexistent/audit.log: no such file"},
		"directory":          {[]string{"-f", os.TempDir()}, "is a directory"},
		"no file":            {nil, `"filename" not set`},
		"bad output":         {[]string{"-f", scenarioLog, "-o", "xml"}, "--output must be yaml, json or table"},
		"bad knob":           {[]string{"-f", scenarioLog, "--scope-mode", "Galaxy"}, "--scope-mode must be one of"},
		"bad filter regex":   {[]string{"-f", scenarioLog, "--filter", "Deny:user=ok", "--filter", "Deny:namespace=(x"}, `--filter "Deny:namespace=(x": namespace: invalid regular expression`},
		"bad filter syntax":  {[]string{"-f", scenarioLog, "--filter", "Drop:user=x"}, "expected Allow:FIELD=REGEX"},
		"bad sa":             {[]string{"-f", scenarioLog, "--serviceaccount", "web"}, "expected NAMESPACE:NAME or NAMESPACE/NAME"},
		"bad source":         {[]string{"-f", scenarioLog, "--source", scenarioLog}, "not an AudiciaSource"},
		"out-dir as a table": {[]string{"-f", scenarioLog, "--out-dir", t.TempDir(), "-o", "table"}, "cannot be combined with --output table"},
		"no subjects":        {[]string{"-f", scenarioLog, "--max-subjects", "0"}, "--max-subjects must be at least 1, not 0"},
		"negative rules":     {[]string{"-f", scenarioLog, "--max-rules", "-3"}, "--max-rules must be at least 1, not -3"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := analyze(t, tt.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// brokenPipe accepts limit bytes, then fails every write.
type brokenPipe struct{ limit int }

var errBrokenPipe = errors.New("broken pipe")

func (b *brokenPipe) Write(p []byte) (int, error) {
	if len(p) > b.limit {
		n := b.limit
		b.limit = 0
		return n, errBrokenPipe
	}
	b.limit -= len(p)
	return len(p), nil
}

// A reader that goes away mid-output stops the analysis with the write's
// error, while many subjects are still to be rendered.
func TestWriteErrorStopsRendering(t *testing.T) {
	log := generatedLog(t, 3000)
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := NewRootCommand(&brokenPipe{limit: 100 << 10}, &stderr)
			cmd.SetArgs([]string{"analyze", "-f", log, "-o", format})
			err := cmd.Execute()
			require.ErrorIs(t, err, errBrokenPipe)
			assert.NotContains(t, stderr.String(), "subjects seen", "no summary after a failed write")
		})
	}
}

func TestFiltersAndSource(t *testing.T) {
	out, stderr, err := analyze(t, "-f", scenarioLog, "-o", "table", "--filter", "Deny:namespace=shop|billing,verb=get|list")
	require.NoError(t, err)
	assert.NotContains(t, stderr, " 0 filtered")
	assert.Contains(t, out, "worker", "a filter drops requests, not subjects that made others")

	source := filepath.Join(t.TempDir(), "source.yaml")
	require.NoError(t, os.WriteFile(source, []byte(`apiVersion: audicia.io/v1alpha1
kind: AudiciaSource
metadata:
  name: offline
spec:
  file:
    path: /var/log/audit.log
  filters:
  - action: Deny
    user: admin|ops-bot,user=x
  groups:
  - developers
  policy:
    scopeMode: ClusterScopeAllowed
`), 0o644))
	out, _, err = analyze(t, "-f", scenarioLog, "--source", source)
	require.NoError(t, err)
	assert.NotContains(t, out, "User admin")
	assert.Contains(t, out, "# Group developers", "groups of the source get their report")
	assert.Contains(t, out, "# ServiceAccount shop/web", "groups of the source do not narrow the subjects shown")
	assert.NotContains(t, out, "kind: Role\n", "scopeMode from the source puts everything into ClusterRoles")
	out, _, err = analyze(t, "-f", scenarioLog, "--source", source, "--scope-mode", "NamespaceStrict")
	require.NoError(t, err)
	assert.Contains(t, out, "kind: Role\n", "an explicit flag wins over the source")
}

func TestParseFilter(t *testing.T) {
	got, err := parseFilter("Deny:user=a{1,3},namespace=kube-.*,resource=pods/exec")
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.FilterRule{Action: v1alpha1.FilterActionDeny, User: "a{1,3}", Namespace: "kube-.*", Resource: "pods/exec"}, got)
	_, err = parseFilter("Allow:color=red")
	assert.Error(t, err)
}

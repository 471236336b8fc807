package chart

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current chart")

const (
	chartDir  = "../../charts/audicia"
	release   = "audicia"
	namespace = "audicia-system"
)

// helmBin is the helm hack/helm.sh built (or found in its cache).
var helmBin string

func TestMain(m *testing.M) {
	flag.Parse()
	out, err := exec.Command("../../hack/helm.sh").Output()
	if err != nil {
		msg := err.Error()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			msg += ": " + string(exit.Stderr)
		}
		fmt.Fprintf(os.Stderr, "the chart tests need helm, which hack/helm.sh builds from the Go module proxy "+
			"(run `make helm` or hack/helm.sh): %s\n", msg)
		os.Exit(1)
	}
	helmBin = strings.TrimSpace(string(out))
	code := m.Run()
	stopAPIServer()
	os.Exit(code)
}

// helm runs helm with args and returns its standard output; it fails the test
// with helm's standard error if helm fails.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runHelm(args...)
	require.NoError(t, err, "helm %s", strings.Join(args, " "))
	return out
}

func runHelm(args ...string) (string, error) {
	cmd := exec.Command(helmBin, args...)
	// Helm's own state stays out of the user's home.
	home := os.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "audicia-chart-test", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "audicia-chart-test", "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "audicia-chart-test", "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// valuesArgs are the helm flags of a values file in testdata, if any.
func valuesArgs(values string) []string {
	if values == "" {
		return nil
	}
	return []string{"-f", filepath.Join("testdata", values)}
}

// render is `helm template` of the chart as release "audicia" in ns.
func render(t *testing.T, ns, values string, extra ...string) string {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", ns}, valuesArgs(values)...)
	return helm(t, append(args, extra...)...)
}

// objects splits rendered YAML into its objects, skipping empty documents.
func objects(t *testing.T, rendered string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range documents(t, rendered) {
		u := &unstructured.Unstructured{}
		require.NoError(t, yaml.Unmarshal(doc, &u.Object), "document:\n%s", doc)
		objs = append(objs, u)
	}
	return objs
}

// documents are the non-empty YAML documents of a multi-document stream.
func documents(t *testing.T, rendered string) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(rendered)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return docs
		}
		require.NoError(t, err)
		var probe map[string]any
		require.NoError(t, yaml.Unmarshal(doc, &probe), "document:\n%s", doc)
		if len(probe) > 0 {
			docs = append(docs, doc)
		}
	}
}

// find returns the objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	return found
}

// one returns the only object of a kind, failing unless there is exactly one.
func one(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := find(objs, kind)
	require.Len(t, found, 1, "objects of kind %s", kind)
	return found[0]
}

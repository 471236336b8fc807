package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
)

func exportReport(namespace, name, source string, subject v1alpha1.Subject, manifest string) v1alpha1.AudiciaPolicyReport {
	r := testReport(subject, source)
	r.Namespace, r.Name = namespace, name
	if manifest != "" {
		r.Status.SuggestedPolicy = &v1alpha1.SuggestedPolicy{Manifest: manifest}
	}
	return r
}

var (
	alice = v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice"}
	web   = v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}
)

const roleManifest = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: x\n"

func TestExportFiles(t *testing.T) {
	files, skipped, err := exportFiles([]v1alpha1.AudiciaPolicyReport{
		exportReport("shop", "sa-web", "s", web, roleManifest),
		exportReport("audicia-system", "user-alice", "s", alice, roleManifest),
		exportReport("audicia-system", "empty", "s", v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: "g"}, ""),
		// The same name in two namespaces, as reports of `audicia analyze -o json` applied twice.
		exportReport("other", "user-alice", "t", v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice2"}, roleManifest),
	})
	require.NoError(t, err)
	require.Len(t, skipped, 1)
	assert.Equal(t, "empty", skipped[0].Name)
	var names []string
	for _, f := range files {
		names = append(names, f.name)
	}
	assert.Equal(t, []string{"audicia-system-user-alice.yaml", "other-user-alice.yaml", "sa-web.yaml"}, names)
	assert.Equal(t, `# Written by kubectl audicia export: the least-privilege RBAC Audicia suggests. Review before applying.
# Subject: ServiceAccount shop/web
# Source: AudiciaSource s (report shop/sa-web)
# Observed: 0 rules in 0 requests (0 denied), last seen -
`+roleManifest, files[2].content)

	// Two sources, one subject: their objects would collide.
	_, _, err = exportFiles([]v1alpha1.AudiciaPolicyReport{
		exportReport("shop", "sa-web-1", "file", web, roleManifest),
		exportReport("shop", "sa-web-2", "webhook", web, roleManifest),
		exportReport("audicia-system", "user-alice", "file", alice, roleManifest),
	})
	require.Error(t, err)
	assert.Equal(t, "several sources report the same subjects, and their suggestions would define the same objects:\n"+
		"  ServiceAccount shop/web (sources file, webhook)\nexport one source at a time with --source", err.Error())
}

// export overwrites what it wrote, nothing else unless --force, and names
// what an earlier export left.
func TestExportOverwrites(t *testing.T) {
	dir := t.TempDir()
	reports := []v1alpha1.AudiciaPolicyReport{exportReport("shop", "sa-web", "s", web, roleManifest)}
	write := func(o *exportOptions, reports []v1alpha1.AudiciaPolicyReport) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := o.write(reports, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	o := &exportOptions{kube: newKubeOptions(), dir: dir}

	mine := filepath.Join(dir, "kustomization.yaml")
	require.NoError(t, os.WriteFile(mine, []byte("resources: [hand-written.yaml]\n"), 0o644))
	_, _, err := write(o, reports)
	require.Error(t, err)
	assert.Equal(t, "not overwriting files that kubectl audicia export did not write (--force does):\n  "+mine, err.Error())
	assert.NoFileExists(t, filepath.Join(dir, "sa-web.yaml"), "nothing is written when export refuses")

	o.force = true
	out, stderr, err := write(o, reports)
	require.NoError(t, err)
	assert.Empty(t, stderr)
	assert.Equal(t, "wrote "+filepath.Join(dir, "sa-web.yaml")+": ServiceAccount shop/web from source s\n"+
		"wrote "+mine+", listing 1 file\n"+
		"Review the files, then: kubectl apply -k "+dir+"\n", out)
	data, err := os.ReadFile(mine)
	require.NoError(t, err)
	assert.Equal(t, `# Written by kubectl audicia export: the RBAC Audicia suggests, one file per subject.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- sa-web.yaml
`, string(data))

	// Without --force, its own files are overwritten; one no report makes now
	// is left and named.
	o.force = false
	other := []v1alpha1.AudiciaPolicyReport{exportReport("audicia-system", "user-alice", "s", alice, roleManifest)}
	_, stderr, err = write(o, other)
	require.NoError(t, err)
	assert.Equal(t, "left "+filepath.Join(dir, "sa-web.yaml")+" from an earlier export: no report suggests it now, and kustomization.yaml does not list it\n", stderr)

	// Nothing to export: nothing written.
	empty := t.TempDir()
	o.dir = filepath.Join(empty, "rbac")
	_, stderr, err = write(o, nil)
	require.NoError(t, err)
	assert.Equal(t, "No suggested RBAC to export; nothing written.\n", stderr)
	assert.NoDirExists(t, o.dir)
}

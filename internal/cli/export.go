package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/audicia/audicia/api/v1alpha1"
)

// exportMarker opens every file export writes. A file without it was not
// written by export, and export does not overwrite it without --force.
const exportMarker = "# Written by kubectl audicia export"

// kustomizationFile lists the exported files for `kubectl apply -k`.
const kustomizationFile = "kustomization.yaml"

type exportOptions struct {
	kube  *kubeOptions
	dir   string
	force bool
}

func exportExample(prog string) string {
	return strings.NewReplacer("PROG", prog).Replace(`  # The suggested RBAC of every subject, one file each, for a pull request
  PROG export -A --dir rbac/
  git -C rbac diff
  kubectl apply --dry-run=server -k rbac/

  # The ServiceAccounts of one namespace, as one source saw them
  PROG export -n shop --source cluster-audit --dir rbac/shop/`)
}

func newExportCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &exportOptions{kube: newKubeOptions()}
	cmd := &cobra.Command{
		Use:   "export --dir DIR",
		Short: "Write the suggested RBAC of the cluster's reports as files for review in Git",
		Long: `export writes the RBAC each AudiciaPolicyReport suggests into DIR: one YAML
file per report, named after it, opening with a comment that names the
subject and the source, and a kustomization.yaml that lists them all, so
that the directory can be reviewed in Git and applied with kubectl apply -k.

It reads the current namespace (-n, or the kubeconfig context's), or every
namespace with -A. ServiceAccounts' reports live in their namespaces, users'
and groups' in each source's report namespace (audicia-system by default).

A subject seen by several AudiciaSources has a report per source, suggesting
the same objects; export refuses to write both and asks for --source.

export overwrites only files it wrote before (they open with "` + exportMarker + `");
--force overwrites others too. Files of an earlier export that no report
produces now are left alone, and named.`,
		Example: exportExample(programName()),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.kube.connect()
			if err != nil {
				return err
			}
			reports, err := o.kube.listReports(cmd.Context(), c, o.kube.listNamespace(c))
			if err != nil {
				return err
			}
			if len(reports) == 0 {
				o.kube.sayNoReports(stderr, c)
				return nil
			}
			return o.write(reports, stdout, stderr)
		},
	}
	o.kube.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory to write the files into (created if missing)")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite files in DIR that export did not write")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

// exportFile is one file export writes.
type exportFile struct {
	name    string
	content string
	report  *v1alpha1.AudiciaPolicyReport
}

// write writes the reports' suggested manifests and the kustomization into
// o.dir, after checking that it overwrites nothing it should not.
func (o *exportOptions) write(reports []v1alpha1.AudiciaPolicyReport, stdout, stderr io.Writer) error {
	files, skipped, err := exportFiles(reports)
	if err != nil {
		return err
	}
	for _, r := range skipped {
		fmt.Fprintf(stderr, "skipped %s/%s (%s): it suggests no RBAC yet\n", r.Namespace, r.Name, r.Spec.Subject)
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "No suggested RBAC to export%s; nothing written.\n", sourceSuffix(o.kube.source))
		return nil
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	files = append(files, exportFile{name: kustomizationFile, content: kustomization(names)})

	if err := o.checkOverwrites(files); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(o.dir, f.name)
		if err := os.WriteFile(path, []byte(f.content), 0o644); err != nil {
			return err
		}
		if f.report != nil {
			fmt.Fprintf(stdout, "wrote %s: %s from source %s\n", path, f.report.Spec.Subject, f.report.Spec.SourceRef.Name)
		} else {
			fmt.Fprintf(stdout, "wrote %s, listing %s\n", path, plural(len(names), "file"))
		}
	}
	for _, stale := range o.staleFiles(files) {
		fmt.Fprintf(stderr, "left %s from an earlier export: no report suggests it now, and %s does not list it\n",
			filepath.Join(o.dir, stale), kustomizationFile)
	}
	fmt.Fprintf(stdout, "Review the files, then: kubectl apply -k %s\n", o.dir)
	return nil
}

// exportFiles are the files of the reports, sorted by name, and the reports
// without a suggested manifest. It fails when two sources report the same
// subject: their suggestions hold the same objects and would collide.
func exportFiles(reports []v1alpha1.AudiciaPolicyReport) (files []exportFile, skipped []*v1alpha1.AudiciaPolicyReport, err error) {
	sources := map[v1alpha1.Subject][]string{}
	nameCount := map[string]int{}
	for i := range reports {
		r := &reports[i]
		if !hasManifest(r) {
			skipped = append(skipped, r)
			continue
		}
		sources[r.Spec.Subject] = append(sources[r.Spec.Subject], r.Spec.SourceRef.Name)
		nameCount[r.Name]++
	}
	var twice []string
	for s, names := range sources {
		if len(names) > 1 {
			slices.Sort(names)
			twice = append(twice, fmt.Sprintf("%s (sources %s)", s, strings.Join(names, ", ")))
		}
	}
	if len(twice) > 0 {
		slices.Sort(twice)
		return nil, nil, fmt.Errorf("several sources report the same subjects, and their suggestions would define the same objects:\n  %s\nexport one source at a time with --source",
			strings.Join(twice, "\n  "))
	}
	for i := range reports {
		r := &reports[i]
		if !hasManifest(r) {
			continue
		}
		name := r.Name + ".yaml"
		if nameCount[r.Name] > 1 {
			name = r.Namespace + "-" + name
		}
		files = append(files, exportFile{name: name, content: exportHeader(r) + r.Status.SuggestedPolicy.Manifest, report: r})
	}
	slices.SortFunc(files, func(a, b exportFile) int { return strings.Compare(a.name, b.name) })
	return files, skipped, nil
}

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func hasManifest(r *v1alpha1.AudiciaPolicyReport) bool {
	return r.Status.SuggestedPolicy != nil && strings.TrimSpace(r.Status.SuggestedPolicy.Manifest) != ""
}

// exportHeader tells a reviewer what a file is and where it comes from.
func exportHeader(r *v1alpha1.AudiciaPolicyReport) string {
	return fmt.Sprintf(`%s: the least-privilege RBAC Audicia suggests. Review before applying.
# Subject: %s
# Source: AudiciaSource %s (report %s/%s)
# Observed: %d rules in %d requests (%d denied), last seen %s
`, exportMarker, r.Spec.Subject, r.Spec.SourceRef.Name, r.Namespace, r.Name,
		len(r.Status.ObservedRules), r.Status.EventsObserved, deniedRequests(r), lastSeen(r))
}

func kustomization(files []string) string {
	var b strings.Builder
	b.WriteString(exportMarker + ": the RBAC Audicia suggests, one file per subject.\n")
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, f := range files {
		b.WriteString("- " + f + "\n")
	}
	return b.String()
}

// checkOverwrites fails, naming them, when files would replace files that
// export did not write, unless --force.
func (o *exportOptions) checkOverwrites(files []exportFile) error {
	var foreign []string
	for _, f := range files {
		path := filepath.Join(o.dir, f.name)
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.IsDir() {
			return fmt.Errorf("%s is a directory; export writes a file there", path)
		}
		if ours, err := writtenByExport(path); err != nil {
			return err
		} else if !ours && !o.force {
			foreign = append(foreign, path)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("not overwriting files that kubectl audicia export did not write (--force does):\n  %s", strings.Join(foreign, "\n  "))
	}
	return nil
}

// staleFiles are the YAML files in the directory from an earlier export that
// this one did not write.
func (o *exportOptions) staleFiles(written []exportFile) []string {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil
	}
	var stale []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") ||
			slices.ContainsFunc(written, func(f exportFile) bool { return f.name == name }) {
			continue
		}
		if ours, _ := writtenByExport(filepath.Join(o.dir, name)); ours {
			stale = append(stale, name)
		}
	}
	return stale
}

// writtenByExport says whether the file opens with exportMarker.
func writtenByExport(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return strings.HasPrefix(line, exportMarker), nil
}

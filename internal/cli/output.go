package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
)

// offlineSourceName is the sourceRef of reports made by `audicia analyze`.
const offlineSourceName = "audicia-analyze"

// subjectOutput is a subject's observed rules with the policy suggested for them.
type subjectOutput struct {
	report pipeline.SubjectReport
	policy v1alpha1.SuggestedPolicy
	slug   string
	// encoded is the subject's output, prepared off the writing goroutine.
	encoded []byte
	// manifest holds the bytes policy.Manifest is a view of, until the
	// subject is written (see suggest).
	manifest []byte
}

// manifests holds the buffers of manifests already written, for reuse: the
// manifests are most of an analysis's output (about 60% of its JSON), and
// once escaped into a JSON report or written out as YAML, nothing needs them.
var manifests = sync.Pool{New: func() any { return []byte(nil) }}

// maxPooledManifest bounds the buffers kept: a few huge subjects would
// otherwise keep theirs allocated.
const maxPooledManifest = 4 << 20

// suggest sets the subject's suggested policy. Its manifest is rendered into
// a pooled buffer and the policy's Manifest is a view of those bytes, valid
// until release.
func (s *subjectOutput) suggest(strategy v1alpha1.PolicyStrategy) {
	s.policy = policy.Suggest(s.report.Rules, strategy)
	s.manifest = policy.AppendManifest(manifests.Get().([]byte)[:0], s.report.Subject, s.policy)
	if len(s.manifest) > 0 {
		s.policy.Manifest = unsafe.String(&s.manifest[0], len(s.manifest))
	}
}

// release gives the manifest's buffer back once the subject is written.
func (s *subjectOutput) release() {
	s.policy.Manifest = ""
	if s.manifest != nil && cap(s.manifest) <= maxPooledManifest {
		manifests.Put(s.manifest[:0]) //nolint:staticcheck // a slice header is small next to the manifest it names
	}
	s.manifest = nil
}

func (s *subjectOutput) denied() int64 {
	var n int64
	for _, r := range s.report.Rules {
		n += r.DeniedCount
	}
	return n
}

// header is a YAML comment that tells a reviewer what the manifest is for.
func (s *subjectOutput) header() string {
	return fmt.Sprintf("# %s: %d rules observed in %d requests (%d denied), last seen %s\n",
		s.report.Subject, len(s.report.Rules), s.report.EventsObserved, s.denied(), s.report.LastEventTime.Format(time.RFC3339))
}

// output writes subjects one at a time as they are rendered. prepare may run
// on several goroutines at once; write and close run on one, in order.
type output interface {
	prepare(*subjectOutput) error
	write(*subjectOutput) error
	close() error
}

// noPreparation is for outputs with nothing worth doing in parallel.
type noPreparation struct{}

func (noPreparation) prepare(*subjectOutput) error { return nil }

func (o *analyzeOptions) newOutput(stdout, stderr io.Writer) (output, error) {
	if o.outDir != "" {
		if err := os.MkdirAll(o.outDir, 0o755); err != nil {
			return nil, err
		}
		return &dirOutput{dir: o.outDir, log: stderr}, nil
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	switch o.output {
	case "json":
		return &jsonOutput{w: w, reportNamespace: o.reportNamespace}, nil
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tRULES\tREQUESTS\tDENIED\tLAST SEEN")
		return &tableOutput{w: w, tw: tw}, nil
	}
	return &yamlOutput{w: w}, nil
}

// yamlOutput writes every subject's manifest as one multi-document stream.
type yamlOutput struct {
	noPreparation
	w     *bufio.Writer
	count int
}

func (y *yamlOutput) write(s *subjectOutput) error {
	if y.count > 0 {
		y.w.WriteString("---\n")
	}
	y.count++
	y.w.WriteString(s.header())
	_, err := y.w.WriteString(s.policy.Manifest)
	return err
}

func (y *yamlOutput) close() error { return y.w.Flush() }

// jsonOutput writes a List of AudiciaPolicyReports, the shape the operator
// writes, one compact report per line: indenting costs more than encoding,
// and jq or kubectl print it indented when a person reads it.
type jsonOutput struct {
	w               *bufio.Writer
	reportNamespace string
	count           int
	// buffers holds the encoded reports already written, for reuse: the
	// output is as large as everything analyze allocates besides.
	buffers sync.Pool
}

func (j *jsonOutput) prepare(s *subjectOutput) error {
	// Room for the observed and suggested rules (about 250 bytes an observed
	// rule) and the manifest with its escapes, so that the buffer seldom grows.
	size := 1024 + 256*len(s.report.Rules) + len(s.policy.Manifest)*9/8
	buf, _ := j.buffers.Get().([]byte)
	data, err := appendReport(slices.Grow(buf[:0], size), reportObject(s, j.reportNamespace))
	s.encoded = data
	return err
}

func (j *jsonOutput) write(s *subjectOutput) error {
	if j.count == 0 {
		j.w.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    ")
	} else {
		j.w.WriteString(",\n    ")
	}
	j.count++
	_, err := j.w.Write(s.encoded)
	j.buffers.Put(s.encoded[:0]) //nolint:staticcheck // a slice header is small next to the report it names
	s.encoded = nil
	return err
}

func (j *jsonOutput) close() error {
	if j.count == 0 {
		j.w.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": []\n}\n")
	} else {
		j.w.WriteString("\n  ]\n}\n")
	}
	return j.w.Flush()
}

// reportObject is the AudiciaPolicyReport the operator would write for the subject.
func reportObject(s *subjectOutput, reportNamespace string) *v1alpha1.AudiciaPolicyReport {
	namespace := reportNamespace
	if s.report.Subject.Kind == v1alpha1.SubjectKindServiceAccount {
		namespace = s.report.Subject.Namespace
	}
	last := metav1.NewTime(s.report.LastEventTime)
	return &v1alpha1.AudiciaPolicyReport{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AudiciaPolicyReport"},
		ObjectMeta: metav1.ObjectMeta{Name: s.slug, Namespace: namespace},
		Spec: v1alpha1.AudiciaPolicyReportSpec{
			Subject:   s.report.Subject,
			SourceRef: v1alpha1.SourceReference{Name: offlineSourceName},
		},
		Status: v1alpha1.AudiciaPolicyReportStatus{
			ObservedRules:   s.report.Rules,
			RuleCount:       int32(len(s.report.Rules)),
			SuggestedPolicy: &s.policy,
			EventsObserved:  s.report.EventsObserved,
			DroppedRequests: s.report.DroppedRequests,
			LastEventTime:   &last,
			Groups:          s.report.Groups,
		},
	}
}

// tableOutput writes a line per subject.
type tableOutput struct {
	noPreparation
	w  *bufio.Writer
	tw *tabwriter.Writer
}

func (t *tableOutput) write(s *subjectOutput) error {
	subject := s.report.Subject
	ns := subject.Namespace
	if ns == "" {
		ns = "-"
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", subject.Kind, ns, subject.Name, len(s.report.Rules),
		s.report.EventsObserved, s.denied(), s.report.LastEventTime.Format(time.RFC3339))
	return err
}

func (t *tableOutput) close() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	return t.w.Flush()
}

// dirOutput writes one manifest file per subject, named after its slug.
type dirOutput struct {
	noPreparation
	dir string
	log io.Writer
}

func (d *dirOutput) write(s *subjectOutput) error {
	path := filepath.Join(d.dir, s.slug+".yaml")
	if err := os.WriteFile(path, []byte(s.header()+s.policy.Manifest), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(d.log, "audicia: wrote %s (%s)\n", path, s.report.Subject)
	return nil
}

func (d *dirOutput) close() error { return nil }

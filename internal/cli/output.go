package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

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
}

func buildReports(reports []pipeline.SubjectReport, strategy v1alpha1.PolicyStrategy) ([]subjectOutput, error) {
	out := make([]subjectOutput, 0, len(reports))
	for _, r := range reports {
		sp, err := policy.Build(r.Subject, r.Rules, strategy)
		if err != nil {
			return nil, fmt.Errorf("rendering the policy of %s: %w", r.Subject, err)
		}
		out = append(out, subjectOutput{report: r, policy: sp, slug: policy.SubjectSlug(r.Subject)})
	}
	return out, nil
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

func writeYAML(w io.Writer, reports []subjectOutput) error {
	for i, r := range reports {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, r.header()+r.policy.Manifest); err != nil {
			return err
		}
	}
	return nil
}

// writeJSON writes a List of AudiciaPolicyReports, the shape the operator writes.
func writeJSON(w io.Writer, reports []subjectOutput, reportNamespace string) error {
	items := make([]v1alpha1.AudiciaPolicyReport, 0, len(reports))
	for _, r := range reports {
		namespace := reportNamespace
		if r.report.Subject.Kind == v1alpha1.SubjectKindServiceAccount {
			namespace = r.report.Subject.Namespace
		}
		sp := r.policy
		last := metav1.NewTime(r.report.LastEventTime)
		items = append(items, v1alpha1.AudiciaPolicyReport{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AudiciaPolicyReport"},
			ObjectMeta: metav1.ObjectMeta{Name: r.slug, Namespace: namespace},
			Spec: v1alpha1.AudiciaPolicyReportSpec{
				Subject:   r.report.Subject,
				SourceRef: v1alpha1.SourceReference{Name: offlineSourceName},
			},
			Status: v1alpha1.AudiciaPolicyReportStatus{
				ObservedRules:   r.report.Rules,
				RuleCount:       int32(len(r.report.Rules)),
				SuggestedPolicy: &sp,
				EventsObserved:  r.report.EventsObserved,
				DroppedRequests: r.report.DroppedRequests,
				LastEventTime:   &last,
			},
		})
	}
	list := struct {
		APIVersion string                         `json:"apiVersion"`
		Kind       string                         `json:"kind"`
		Items      []v1alpha1.AudiciaPolicyReport `json:"items"`
	}{APIVersion: "v1", Kind: "List", Items: items}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

func writeTable(w io.Writer, reports []subjectOutput) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tRULES\tREQUESTS\tDENIED\tLAST SEEN")
	for _, r := range reports {
		s := r.report.Subject
		ns := s.Namespace
		if ns == "" {
			ns = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Kind, ns, s.Name, len(r.report.Rules),
			r.report.EventsObserved, r.denied(), r.report.LastEventTime.Format(time.RFC3339))
	}
	return tw.Flush()
}

package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/audicia/audicia/api/v1alpha1"
)

type getOptions struct {
	kube    *kubeOptions
	noColor bool
}

func getExample(prog string) string {
	return strings.NewReplacer("PROG", prog).Replace(`  # Reports in the current namespace, and in every namespace
  PROG get
  PROG get -A

  # The reports of one ServiceAccount, user or group
  PROG get sa:shop:web
  PROG get shop/web
  PROG get user:alice@example.com
  PROG get group:developers

  # Only what one AudiciaSource saw, without colour
  PROG get -A --source cluster-audit --no-color`)
}

func newGetCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &getOptions{kube: newKubeOptions()}
	cmd := &cobra.Command{
		Use:   "get [SUBJECT]",
		Short: "List the AudiciaPolicyReports of the cluster as a table",
		Long: `get lists the AudiciaPolicyReports the operator wrote: per subject and
source, how many rules and requests it saw, how many were denied, the
compliance severity and score of its live RBAC ("-" until the operator has
scored it), and when it was last seen.

Without SUBJECT it lists the current namespace (-n, or the kubeconfig
context's), or every namespace with -A. With SUBJECT it lists that subject's
reports: a ServiceAccount's in its namespace, a user's or group's in every
namespace (-n narrows, -A widens).

` + subjectSyntax + `

Severity is coloured when stdout is a terminal, unless --no-color or NO_COLOR is set.`,
		Example: getExample(programName()),
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args, stdout, stderr)
		},
	}
	o.kube.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.noColor, "no-color", false, "never colour the severity")
	return cmd
}

func (o *getOptions) run(cmd *cobra.Command, args []string, stdout, stderr io.Writer) error {
	var subject *v1alpha1.Subject
	if len(args) == 1 {
		s, err := parseSubject(args[0])
		if err != nil {
			return err
		}
		subject = &s
	}
	c, err := o.kube.connect()
	if err != nil {
		return err
	}
	var reports []v1alpha1.AudiciaPolicyReport
	if subject != nil {
		reports, err = o.kube.findReports(cmd.Context(), c, *subject)
	} else {
		reports, err = o.kube.listReports(cmd.Context(), c, o.kube.listNamespace(c))
	}
	if err != nil {
		return err
	}
	if len(reports) == 0 {
		o.kube.sayNoReports(stderr, c)
		return nil
	}
	colour := !o.noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout)
	return writeReportTable(stdout, reports, colour)
}

// isTerminal says whether w is a terminal; pipes, files and buffers are not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// reportColumns are the columns of get, each a function of a report.
var reportColumns = []struct {
	header string
	value  func(*v1alpha1.AudiciaPolicyReport) string
}{
	{"NAMESPACE", func(r *v1alpha1.AudiciaPolicyReport) string { return r.Namespace }},
	{"SUBJECT", func(r *v1alpha1.AudiciaPolicyReport) string { return formatSubject(r.Spec.Subject) }},
	{"SOURCE", func(r *v1alpha1.AudiciaPolicyReport) string { return r.Spec.SourceRef.Name }},
	{"RULES", func(r *v1alpha1.AudiciaPolicyReport) string { return fmt.Sprint(len(r.Status.ObservedRules)) }},
	{"REQUESTS", func(r *v1alpha1.AudiciaPolicyReport) string { return fmt.Sprint(r.Status.EventsObserved) }},
	{"DENIED", func(r *v1alpha1.AudiciaPolicyReport) string { return fmt.Sprint(deniedRequests(r)) }},
	{severityHeader, reportSeverity},
	{"SCORE", reportScore},
	{"LAST SEEN", lastSeen},
}

const severityHeader = "SEVERITY"

// reportSeverity is the compliance severity of the subject's live RBAC
// (Green, Yellow or Red), "-" while the report has none.
func reportSeverity(r *v1alpha1.AudiciaPolicyReport) string {
	if r.Status.Compliance == nil {
		return "-"
	}
	return string(r.Status.Compliance.Severity)
}

// reportScore is the compliance score (0-100), "-" while the report has none.
func reportScore(r *v1alpha1.AudiciaPolicyReport) string {
	if r.Status.Compliance == nil {
		return "-"
	}
	return fmt.Sprint(r.Status.Compliance.Score)
}

func deniedRequests(r *v1alpha1.AudiciaPolicyReport) int64 {
	var n int64
	for _, rule := range r.Status.ObservedRules {
		n += rule.DeniedCount
	}
	return n
}

func lastSeen(r *v1alpha1.AudiciaPolicyReport) string {
	if r.Status.LastEventTime == nil {
		return "-"
	}
	return r.Status.LastEventTime.UTC().Format(time.RFC3339)
}

// writeReportTable writes the reports as kubectl writes tables: columns
// separated by three spaces, padded to the widest cell. Colour codes are
// added after padding, so they never upset the alignment.
func writeReportTable(w io.Writer, reports []v1alpha1.AudiciaPolicyReport, colour bool) error {
	rows := make([][]string, 0, len(reports)+1)
	header := make([]string, len(reportColumns))
	for i, c := range reportColumns {
		header[i] = c.header
	}
	rows = append(rows, header)
	for i := range reports {
		row := make([]string, len(reportColumns))
		for j, c := range reportColumns {
			row[j] = c.value(&reports[i])
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	for i, row := range padRows(rows, 3) {
		for j, cell := range row {
			if colour && i > 0 && reportColumns[j].header == severityHeader {
				cell = colourSeverity(rows[i][j], cell)
			}
			b.WriteString(cell)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// padRows pads every cell but the last of each row to the width of its
// column plus gap spaces.
func padRows(rows [][]string, gap int) [][]string {
	var widths []int
	for _, row := range rows {
		for j, cell := range row {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(cell))
		}
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(row))
		for j, cell := range row {
			if j < len(row)-1 {
				cell += strings.Repeat(" ", widths[j]-utf8.RuneCountInString(cell)+gap)
			}
			out[i][j] = cell
		}
	}
	return out
}

// ANSI colours of the severities.
const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

// colourSeverity colours the severity in text (its cell, padded) by the
// severity's name; unknown severities and "-" stay plain.
func colourSeverity(severity, text string) string {
	var code string
	switch v1alpha1.Severity(severity) {
	case v1alpha1.SeverityGreen:
		code = ansiGreen
	case v1alpha1.SeverityYellow:
		code = ansiYellow
	case v1alpha1.SeverityRed:
		code = ansiRed
	default:
		return text
	}
	trimmed := strings.TrimRight(text, " ")
	return code + trimmed + ansiReset + text[len(trimmed):]
}

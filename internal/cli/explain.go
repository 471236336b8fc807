package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/policy"
)

func explainExample(prog string) string {
	return strings.NewReplacer("PROG", prog).Replace(`  # Why the suggested Role and ClusterRole of ServiceAccount shop/web hold each rule
  PROG explain sa:shop:web
  PROG explain shop/web

  # A user, as one source saw them
  PROG explain user:alice@example.com --source cluster-audit`)
}

func newExplainCommand(stdout io.Writer) *cobra.Command {
	kube := newKubeOptions()
	cmd := &cobra.Command{
		Use:   "explain SUBJECT",
		Short: "Show why each rule of a subject's suggested RBAC is there",
		Long: `explain shows, for each rule of the RBAC Audicia suggests for SUBJECT, the
requests that justify it: verb, resource or URL, namespace, object names,
how many requests, how many RBAC denied, first and last seen.

Rules are grouped by the Role or ClusterRole that holds them, in the order of
the suggested manifest; under each rule, denied lines come first, then by
namespace, resource and verb. A DENIED line is a permission the subject asked
for and lacks (RBAC refused some of its requests with 403): applying the
suggestion grants it, so review it first. An allowed line is a permission the
subject already has and uses.

` + subjectSyntax + `

A subject seen by several AudiciaSources has a report per source; explain
shows each, or the one of --source.`,
		Example: explainExample(programName()),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSubject(args[0])
			if err != nil {
				return err
			}
			c, err := kube.connect()
			if err != nil {
				return err
			}
			reports, err := kube.findReports(cmd.Context(), c, s)
			if err != nil {
				return err
			}
			for i := range reports {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				if err := writeExplanation(stdout, &reports[i]); err != nil {
					return err
				}
			}
			return nil
		},
	}
	kube.addFlags(cmd.Flags())
	return cmd
}

// justification is a rule of the suggested policy and the observed rules it
// is there for.
type justification struct {
	// object is the Role or ClusterRole holding the rule: "ClusterRole NAME"
	// or "Role NAMESPACE/NAME"; empty for observed rules the suggestion does
	// not cover (which a consistent report never has).
	object   string
	rule     rbacv1.PolicyRule
	observed []v1alpha1.ObservedRule
}

// justify assigns each observed rule to the suggested rule that allows it:
// the Role of its namespace first, then the ClusterRole, as RBAC itself
// would grant it. Objects and rules keep the order of the suggested policy.
func justify(r *v1alpha1.AudiciaPolicyReport) []justification {
	name := policy.ObjectName(r.Spec.Subject)
	var out []justification
	byNamespace := map[string][]int{}
	var cluster []int
	if sp := r.Status.SuggestedPolicy; sp != nil {
		for _, rule := range sp.ClusterRules {
			cluster = append(cluster, len(out))
			out = append(out, justification{object: "ClusterRole " + name, rule: rule})
		}
		for _, nr := range sp.NamespaceRules {
			for _, rule := range nr.Rules {
				byNamespace[nr.Namespace] = append(byNamespace[nr.Namespace], len(out))
				out = append(out, justification{object: "Role " + nr.Namespace + "/" + name, rule: rule})
			}
		}
	}
	uncovered := justification{}
	for _, o := range r.Status.ObservedRules {
		want := observedAsRule(o)
		candidates := cluster
		if o.Namespace != "" {
			candidates = append(slices.Clone(byNamespace[o.Namespace]), cluster...)
		}
		i := slices.IndexFunc(candidates, func(i int) bool {
			covers, _ := validation.Covers([]rbacv1.PolicyRule{out[i].rule}, []rbacv1.PolicyRule{want})
			return covers
		})
		if i < 0 {
			uncovered.observed = append(uncovered.observed, o)
			continue
		}
		j := &out[candidates[i]]
		j.observed = append(j.observed, o)
	}
	if len(uncovered.observed) > 0 {
		out = append(out, uncovered)
	}
	for i := range out {
		slices.SortFunc(out[i].observed, compareObserved)
	}
	return out
}

// observedAsRule is the narrowest PolicyRule that allows the observed requests.
func observedAsRule(o v1alpha1.ObservedRule) rbacv1.PolicyRule {
	if o.NonResourceURL != "" {
		return rbacv1.PolicyRule{Verbs: []string{o.Verb}, NonResourceURLs: []string{o.NonResourceURL}}
	}
	return rbacv1.PolicyRule{
		Verbs:         []string{o.Verb},
		APIGroups:     []string{o.APIGroup},
		Resources:     []string{o.Resource},
		ResourceNames: o.ResourceNames,
	}
}

// compareObserved sorts denied rules first, then by what they are about.
func compareObserved(a, b v1alpha1.ObservedRule) int {
	return cmp.Or(
		-cmp.Compare(min(a.DeniedCount, 1), min(b.DeniedCount, 1)),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(observedTarget(a), observedTarget(b)),
		cmp.Compare(a.Verb, b.Verb),
	)
}

// observedTarget is the resource (group/resource) or the URL of a rule.
func observedTarget(o v1alpha1.ObservedRule) string {
	if o.NonResourceURL != "" {
		return o.NonResourceURL
	}
	if o.APIGroup != "" {
		return o.APIGroup + "/" + o.Resource
	}
	return o.Resource
}

// describeRule writes a PolicyRule on one line, as a reviewer reads it.
func describeRule(r rbacv1.PolicyRule) string {
	var parts []string
	list := func(name string, values []string) {
		if len(values) == 0 {
			return
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			if v == "" {
				v = `""`
			}
			quoted[i] = v
		}
		parts = append(parts, name+": ["+strings.Join(quoted, ", ")+"]")
	}
	list("apiGroups", r.APIGroups)
	list("resources", r.Resources)
	list("resourceNames", r.ResourceNames)
	list("nonResourceURLs", r.NonResourceURLs)
	list("verbs", r.Verbs)
	return strings.Join(parts, " ")
}

// writeExplanation writes why each rule of the report's suggested policy is there.
func writeExplanation(w io.Writer, r *v1alpha1.AudiciaPolicyReport) error {
	rules := r.Status.ObservedRules
	var deniedRules, deniedRequests int
	for _, o := range rules {
		if o.DeniedCount > 0 {
			deniedRules++
			deniedRequests += int(o.DeniedCount)
		}
	}
	fmt.Fprintf(w, "%s, as AudiciaSource %s saw it (report %s/%s)\n", r.Spec.Subject, r.Spec.SourceRef.Name, r.Namespace, r.Name)
	fmt.Fprintf(w, "%s in %s, last seen %s.\n", plural(int(r.Status.EventsObserved), "request"), plural(len(rules), "observed rule"), lastSeen(r))
	switch deniedRules {
	case 0:
		fmt.Fprintln(w, "RBAC allowed every request: the suggestion grants only what the subject already has and uses.")
	default:
		fmt.Fprintf(w, "RBAC denied %s in %s: the subject needs these and lacks them; the suggestion grants them, review them first.\n",
			plural(deniedRequests, "request"), plural(deniedRules, "rule"))
	}
	if c := r.Status.Compliance; c != nil {
		fmt.Fprintf(w, "Its live RBAC scores %d (%s): %d of %d granted permissions used; %s asked for and not granted.\n",
			c.Score, c.Severity, c.Used, c.Granted, plural(int(c.Uncovered), "rule"))
	}
	if r.Status.DroppedRequests > 0 {
		fmt.Fprintf(w, "%s not recorded: the report reached its source's limit of rules.\n", plural(int(r.Status.DroppedRequests), "request"))
	}
	if len(rules) == 0 {
		return nil
	}
	// The observed rules of all groups are aligned as one table.
	groups := justify(r)
	var rows [][]string
	for _, j := range groups {
		for _, o := range j.observed {
			decision := "allowed"
			if o.DeniedCount > 0 {
				decision = "DENIED"
			}
			rows = append(rows, []string{
				decision, o.Verb, observedTarget(o), "namespace " + orDash(o.Namespace), "names " + orDash(strings.Join(o.ResourceNames, ",")),
				requestsText(o), fmt.Sprintf("%d denied", o.DeniedCount),
				"first " + o.FirstSeen.UTC().Format(time.RFC3339), "last " + o.LastSeen.UTC().Format(time.RFC3339),
			})
		}
	}
	rows = padRows(rows, 2)
	var b strings.Builder
	object := "-"
	for _, j := range groups {
		if len(j.observed) == 0 {
			continue
		}
		if j.object != object {
			object = j.object
			if object == "" {
				b.WriteString("\nObserved, but no rule of the suggested policy allows these:\n")
			} else {
				fmt.Fprintf(&b, "\n%s\n", object)
			}
		}
		if j.object != "" {
			fmt.Fprintf(&b, "  rule: %s\n", describeRule(j.rule))
		}
		for range j.observed {
			b.WriteString("    " + strings.Join(rows[0], "") + "\n")
			rows = rows[1:]
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func requestsText(o v1alpha1.ObservedRule) string {
	return plural(int(o.Count), "request")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/audicia/audicia/api/v1alpha1"
)

// pluginBinary is the name under which kubectl finds the plugin on PATH.
const pluginBinary = "kubectl-audicia"

// displayName is how usage text names the program: `kubectl audicia` when the
// binary runs as the kubectl plugin, `audicia` otherwise.
func displayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if base == pluginBinary {
		return "kubectl audicia"
	}
	return "audicia"
}

// programName is displayName of this process.
func programName() string { return displayName(os.Args[0]) }

// kubeOptions are the cluster flags of get, export and explain: the standard
// kubectl flags (--kubeconfig, --context, -n, --as, ...) from client-go's
// clientcmd, -A, and --source.
type kubeOptions struct {
	loading       *clientcmd.ClientConfigLoadingRules
	overrides     clientcmd.ConfigOverrides
	allNamespaces bool
	source        string
}

func newKubeOptions() *kubeOptions {
	return &kubeOptions{loading: clientcmd.NewDefaultClientConfigLoadingRules()}
}

func (k *kubeOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&k.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "", "path to the kubeconfig file to use")
	clientcmd.BindOverrideFlags(&k.overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
	fs.BoolVarP(&k.allNamespaces, "all-namespaces", "A", false, "look in every namespace")
	fs.StringVar(&k.source, "source", "", "only reports of this AudiciaSource")
}

// cluster is a client for Audicia's reports and what it takes to say, in an
// error, which cluster it talks to.
type cluster struct {
	client client.Reader
	// namespace is -n, or the namespace of the kubeconfig context.
	namespace string
	// where names the kubeconfig, context and server for error messages.
	where string
}

// connect builds a controller-runtime client with the Audicia scheme from the
// kubeconfig flags. No request is made yet.
func (k *kubeOptions) connect() (*cluster, error) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(k.loading, &k.overrides)
	where := k.describe(loader)
	// Without any kubeconfig, client-go falls back to localhost:8080, which
	// is never what the person meant.
	if raw, err := loader.RawConfig(); err == nil && len(raw.Contexts) == 0 && !k.serverGiven() && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, fmt.Errorf("no cluster access: no kubeconfig found (%s); pass --kubeconfig or --context, or set KUBECONFIG", where)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("no cluster access: no kubeconfig found (%s); pass --kubeconfig or --context, or set KUBECONFIG", where)
		}
		return nil, fmt.Errorf("no cluster access with %s: %w", where, err)
	}
	where += ", server " + cfg.Host
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the namespace from %s: %w", where, err)
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("no cluster access with %s: %w", where, err)
	}
	return &cluster{client: c, namespace: ns, where: where}, nil
}

func (k *kubeOptions) serverGiven() bool {
	return k.overrides.ClusterInfo.Server != ""
}

func newClient(cfg *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// describe names the kubeconfig files and the context in use.
func (k *kubeOptions) describe(loader clientcmd.ClientConfig) string {
	files := clientcmd.NewDefaultClientConfigLoadingRules().GetLoadingPrecedence()
	if k.loading.ExplicitPath != "" {
		files = []string{k.loading.ExplicitPath}
	}
	context := k.overrides.CurrentContext
	if raw, err := loader.RawConfig(); context == "" && err == nil {
		context = raw.CurrentContext
	}
	if context == "" {
		context = "(none)"
	}
	return fmt.Sprintf("kubeconfig %s, context %s", strings.Join(files, string(filepath.ListSeparator)), context)
}

// listReports lists the reports in namespace ("" for all), keeps those of
// --source, and sorts them by namespace, subject and source.
func (k *kubeOptions) listReports(ctx context.Context, c *cluster, namespace string) ([]v1alpha1.AudiciaPolicyReport, error) {
	var list v1alpha1.AudiciaPolicyReportList
	if err := c.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, c.explainError(err, namespace)
	}
	reports := list.Items
	if k.source != "" {
		reports = slices.DeleteFunc(reports, func(r v1alpha1.AudiciaPolicyReport) bool { return r.Spec.SourceRef.Name != k.source })
	}
	slices.SortFunc(reports, compareReports)
	return reports, nil
}

func compareReports(a, b v1alpha1.AudiciaPolicyReport) int {
	return cmp.Or(
		cmp.Compare(a.Namespace, b.Namespace),
		compareSubjects(a.Spec.Subject, b.Spec.Subject),
		cmp.Compare(a.Spec.SourceRef.Name, b.Spec.SourceRef.Name),
		cmp.Compare(a.Name, b.Name),
	)
}

func compareSubjects(a, b v1alpha1.Subject) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// explainError says what a failed list means for the person at the terminal.
func (c *cluster) explainError(err error, namespace string) error {
	scope := "in namespace " + namespace
	if namespace == "" {
		scope = "in any namespace"
	}
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return fmt.Errorf("the cluster has no AudiciaPolicyReport API (%s): is Audicia installed? (CRD audiciapolicyreports.audicia.io)", c.where)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("no cluster access: the API server rejected the credentials of %s: %w", c.where, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to list AudiciaPolicyReports %s (%s): %w", scope, c.where, err)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return fmt.Errorf("listing AudiciaPolicyReports %s (%s): %w", scope, c.where, err)
	}
	return fmt.Errorf("no cluster access with %s: %w", c.where, err)
}

// subjectSyntax is the help text of the SUBJECT argument.
const subjectSyntax = `SUBJECT is a ServiceAccount as sa:NAMESPACE:NAME or NAMESPACE/NAME, a user as
user:NAME, or a group as group:NAME. The forms get prints in its SUBJECT
column (ServiceAccount/NAMESPACE/NAME, User/NAME, Group/NAME) work too.`

// parseSubject reads the SUBJECT argument. Names may contain colons (user
// names often do), so only the first one separates the kind.
func parseSubject(arg string) (v1alpha1.Subject, error) {
	bad := fmt.Errorf("subject %q: expected sa:NAMESPACE:NAME or NAMESPACE/NAME (a ServiceAccount), user:NAME or group:NAME", arg)
	sa := func(ns, name string) (v1alpha1.Subject, error) {
		if ns == "" || name == "" || strings.ContainsAny(ns, "/:") || strings.ContainsAny(name, "/:") {
			return v1alpha1.Subject{}, bad
		}
		return v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}, nil
	}
	named := func(kind v1alpha1.SubjectKind, name string) (v1alpha1.Subject, error) {
		if name == "" {
			return v1alpha1.Subject{}, bad
		}
		return v1alpha1.Subject{Kind: kind, Name: name}, nil
	}
	if rest, ok := strings.CutPrefix(arg, "system:serviceaccount:"); ok {
		ns, name, _ := strings.Cut(rest, ":")
		return sa(ns, name)
	}
	for _, form := range []struct {
		prefix string
		kind   v1alpha1.SubjectKind
	}{
		{"ServiceAccount/", v1alpha1.SubjectKindServiceAccount},
		{"User/", v1alpha1.SubjectKindUser},
		{"Group/", v1alpha1.SubjectKindGroup},
	} {
		if rest, ok := strings.CutPrefix(arg, form.prefix); ok {
			if form.kind == v1alpha1.SubjectKindServiceAccount {
				ns, name, _ := strings.Cut(rest, "/")
				return sa(ns, name)
			}
			return named(form.kind, rest)
		}
	}
	if kind, rest, ok := strings.Cut(arg, ":"); ok {
		switch strings.ToLower(kind) {
		case "sa", "serviceaccount":
			ns, name, _ := strings.Cut(rest, ":")
			return sa(ns, name)
		case "user":
			return named(v1alpha1.SubjectKindUser, rest)
		case "group":
			return named(v1alpha1.SubjectKindGroup, rest)
		}
		return v1alpha1.Subject{}, bad
	}
	if ns, name, ok := strings.Cut(arg, "/"); ok {
		return sa(ns, name)
	}
	return v1alpha1.Subject{}, bad
}

// formatSubject is how tables show a subject: kind/namespace/name, which
// parseSubject reads back.
func formatSubject(s v1alpha1.Subject) string {
	if s.Namespace != "" {
		return string(s.Kind) + "/" + s.Namespace + "/" + s.Name
	}
	return string(s.Kind) + "/" + s.Name
}

// subjectNamespace is where the reports of subject are looked for: -A
// everywhere, an explicit -n there, else a ServiceAccount's own namespace
// (where the operator writes its reports) and, for users and groups, every
// namespace (each source has its own report namespace).
func (k *kubeOptions) subjectNamespace(s v1alpha1.Subject) string {
	switch {
	case k.allNamespaces:
		return ""
	case k.overrides.Context.Namespace != "":
		return k.overrides.Context.Namespace
	case s.Kind == v1alpha1.SubjectKindServiceAccount:
		return s.Namespace
	}
	return ""
}

// listNamespace is where reports are listed without a subject: -A
// everywhere, else -n or the context's namespace, as kubectl does.
func (k *kubeOptions) listNamespace(c *cluster) string {
	if k.allNamespaces {
		return ""
	}
	return c.namespace
}

// sayNoReports tells, as kubectl does, that a listing without a subject
// found nothing, and where it looked.
func (k *kubeOptions) sayNoReports(w io.Writer, c *cluster) {
	where := "in namespace " + c.namespace
	if k.allNamespaces {
		where = "in any namespace"
	}
	fmt.Fprintf(w, "No AudiciaPolicyReports found %s%s.\n", where, sourceSuffix(k.source))
}

// findReports returns the reports of subject, or an error that lists the
// subjects with a similar name when there are none.
func (k *kubeOptions) findReports(ctx context.Context, c *cluster, s v1alpha1.Subject) ([]v1alpha1.AudiciaPolicyReport, error) {
	namespace := k.subjectNamespace(s)
	reports, err := k.listReports(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	found := slices.DeleteFunc(slices.Clone(reports), func(r v1alpha1.AudiciaPolicyReport) bool { return r.Spec.Subject != s })
	if len(found) > 0 {
		return found, nil
	}
	// Look further for suggestions: a typo in a ServiceAccount's namespace
	// leaves nothing to compare with in that namespace.
	if namespace != "" {
		if all, err := k.listReports(ctx, c, ""); err == nil {
			reports = all
		}
	}
	msg := "no AudiciaPolicyReport found for " + s.String()
	if k.source != "" {
		msg += " from source " + k.source
	}
	if namespace != "" {
		msg += " in namespace " + namespace
	}
	if near := nearSubjects(s, reports); len(near) > 0 {
		msg += "; similar subjects with reports:\n  " + strings.Join(near, "\n  ")
	} else if len(reports) == 0 {
		msg += fmt.Sprintf(" (and no reports at all%s; %s)", sourceSuffix(k.source), c.where)
	} else {
		msg += fmt.Sprintf("; %d other reports exist: `%s get -A` lists them", len(reports), programName())
	}
	return nil, errors.New(msg)
}

func sourceSuffix(source string) string {
	if source == "" {
		return ""
	}
	return " from source " + source
}

// nearSubjects are the subjects of reports whose names look like the one
// asked for: the same name of another kind or namespace, a name containing
// the other, or a few typos away. Closest first, at most five.
func nearSubjects(want v1alpha1.Subject, reports []v1alpha1.AudiciaPolicyReport) []string {
	type candidate struct {
		subject  v1alpha1.Subject
		distance int
	}
	wantText := formatSubject(want)
	limit := max(2, len(want.Name)/3)
	var near []candidate
	seen := map[v1alpha1.Subject]bool{}
	for _, r := range reports {
		s := r.Spec.Subject
		if seen[s] {
			continue
		}
		seen[s] = true
		// Closeness of the whole subject orders the suggestions; a close name
		// (of any kind or namespace) or a close whole subject (a typo in the
		// namespace) makes one.
		d := levenshtein(wantText, formatSubject(s))
		if d <= limit || levenshtein(want.Name, s.Name) <= limit || strings.Contains(s.Name, want.Name) || strings.Contains(want.Name, s.Name) {
			near = append(near, candidate{s, d})
		}
	}
	slices.SortFunc(near, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.distance, b.distance), compareSubjects(a.subject, b.subject))
	})
	var out []string
	for i, c := range near {
		if i == 5 {
			break
		}
		out = append(out, formatSubject(c.subject))
	}
	return out
}

// levenshtein is the edit distance of a and b, by bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

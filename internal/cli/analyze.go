package cli

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/pipeline"
	"github.com/audicia/audicia/internal/policy"
)

// analyzeOptions are the flags of `audicia analyze`.
type analyzeOptions struct {
	files           []string
	users           []string
	serviceAccounts []string
	groups          []string
	output          string
	outDir          string
	sourceFile      string
	filters         []string
	// sourceFilters and sourceGroups come from --source; they configure the
	// pipeline but, unlike --group, do not select subjects.
	sourceFilters   []v1alpha1.FilterRule
	sourceGroups    []string
	includeSystem   bool
	reportNamespace string
	maxSubjects     int32
	maxRules        int32
	quiet           bool
	strategy        v1alpha1.PolicyStrategy
	migrate         bool
}

const analyzeExample = `  # Suggested RBAC for every subject in a log, ready for review and kubectl apply
  audicia analyze -f /var/log/kubernetes/audit.log

  # One ServiceAccount, from a rotated, compressed log and the current one
  audicia analyze -f audit-2026-11-20.log.gz -f audit.log --serviceaccount shop:web

  # A table of subjects; a JSON report per subject (the AudiciaPolicyReport shape)
  audicia analyze -f audit.log -o table
  audicia analyze -f audit.log -o json | jq '.items[].status.observedRules'

  # One YAML file per subject, for a pull request
  audicia analyze -f audit.log --out-dir rbac/

  # Drop kube-system and a noisy bot; use the knobs of an AudiciaSource manifest
  audicia analyze -f audit.log --filter 'Deny:namespace=kube-system' --filter 'Deny:user=ci-bot'
  audicia analyze -f audit.log --source source.yaml`

func newAnalyzeCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &analyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze -f FILE [-f FILE ...]",
		Short: "Turn an audit log into least-privilege RBAC, offline",
		Long: `analyze reads Kubernetes audit logs (audit.k8s.io/v1 or v1beta1; JSON lines as
kube-apiserver's log backend writes them, or an EventList document; plain or
gzip) and prints, for every subject seen, the least-privilege Roles,
ClusterRoles and bindings that allow every request the subject made, denied
ones included: a 403 is a permission the subject needs and lacks.

Each request is counted once (RequestReceived events and repeated stages are
skipped), impersonated requests belong to the impersonated user, failed
authentications (401) grant nothing. Malformed lines are counted and skipped;
a summary of what was read goes to stderr. A file is read as long as it was
when analyze started (lines appended later are not read); one truncated
while it is read, as by a log rotation, stops analyze with an error.

Audicia never applies RBAC: review the output, then kubectl apply it.`,
		Example: analyzeExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.complete(cmd); err != nil {
				return err
			}
			return o.run(stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "audit log to read; repeat for several, - for stdin; gzip input (a .gz file, or stdin) is decompressed")
	f.StringArrayVar(&o.users, "user", nil, "only this user (repeatable)")
	f.StringArrayVar(&o.serviceAccounts, "serviceaccount", nil, "only this ServiceAccount, as NAMESPACE:NAME or NAMESPACE/NAME (repeatable)")
	f.StringArrayVar(&o.groups, "group", nil, "a report for this group, aggregating its members (repeatable)")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format: yaml (RBAC manifests), json (a List with one compact AudiciaPolicyReport per line) or table")
	f.StringVar(&o.outDir, "out-dir", "", "write one YAML file of RBAC per subject into this directory instead of stdout")
	f.StringVar(&o.sourceFile, "source", "", "an AudiciaSource manifest whose filters, groups, policy and limits to use; flags given explicitly win")
	f.StringArrayVar(&o.filters, "filter", nil, "a filter rule ACTION:FIELD=REGEX[,FIELD=REGEX...] with ACTION Allow or Deny and FIELD user, group, namespace, verb or resource; rules apply in order after those of --source, first match wins")
	f.BoolVar(&o.includeSystem, "include-system-users", false, "keep requests of system:* users other than ServiceAccounts (the control plane's own components)")
	f.StringVar(&o.reportNamespace, "report-namespace", "audicia-system", "namespace of the User and Group reports in -o json")
	f.Int32Var(&o.maxSubjects, "max-subjects", pipeline.DefaultMaxSubjects, "subjects tracked at most; requests of further subjects are counted as dropped (the --group reports are not counted)")
	f.Int32Var(&o.maxRules, "max-rules", pipeline.DefaultMaxRulesPerSubject, "observed rules kept per subject at most")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "do not print the summary on stderr")
	f.StringVar((*string)(&o.strategy.ScopeMode), "scope-mode", string(v1alpha1.ScopeModeNamespaceStrict), "NamespaceStrict (a Role per namespace) or ClusterScopeAllowed (one ClusterRole for everything)")
	f.StringVar((*string)(&o.strategy.VerbMerge), "verb-merge", string(v1alpha1.VerbMergeSmart), "Smart (merge verbs and resources into few rules) or Exact (one rule per resource and verb)")
	f.StringVar((*string)(&o.strategy.Wildcards), "wildcards", string(v1alpha1.WildcardsForbidden), "Forbidden or Safe (verbs: ['*'] where every verb of a resource was used and * adds no privileged verb)")
	f.StringVar((*string)(&o.strategy.ResourceNames), "resource-names", string(v1alpha1.ResourceNamesOmit), "Omit or Explicit (restrict rules to the object names seen)")
	f.BoolVar(&o.migrate, "migrate-deprecated-groups", true, "rewrite removed API groups (extensions deployments to apps, extensions ingresses to networking.k8s.io)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// complete merges --source into the flags and validates them.
func (o *analyzeOptions) complete(cmd *cobra.Command) error {
	switch o.output {
	case "yaml", "json", "table":
	default:
		return fmt.Errorf("--output must be yaml, json or table, not %q", o.output)
	}
	if o.outDir != "" && o.output != "yaml" {
		return fmt.Errorf("--out-dir writes YAML files of RBAC; it cannot be combined with --output %s", o.output)
	}
	for _, flag := range []string{"max-subjects", "max-rules"} {
		if v, _ := cmd.Flags().GetInt32(flag); cmd.Flags().Changed(flag) && v < 1 {
			return fmt.Errorf("--%s must be at least 1, not %d", flag, v)
		}
	}
	for _, sa := range o.serviceAccounts {
		if _, _, ok := splitServiceAccount(sa); !ok {
			return fmt.Errorf("--serviceaccount %q: expected NAMESPACE:NAME or NAMESPACE/NAME", sa)
		}
	}
	if o.sourceFile != "" {
		if err := o.applySource(cmd); err != nil {
			return err
		}
	}
	return validateStrategy(o.strategy)
}

func (o *analyzeOptions) applySource(cmd *cobra.Command) error {
	data, err := os.ReadFile(o.sourceFile)
	if err != nil {
		return fmt.Errorf("--source: %w", err)
	}
	var src v1alpha1.AudiciaSource
	if err := yaml.UnmarshalStrict(data, &src); err != nil {
		return fmt.Errorf("--source %s: not an AudiciaSource: %w", o.sourceFile, err)
	}
	if src.Kind != "AudiciaSource" {
		return fmt.Errorf("--source %s: kind is %q, expected AudiciaSource", o.sourceFile, src.Kind)
	}
	spec := &src.Spec
	changed := cmd.Flags().Changed
	o.sourceFilters = spec.Filters
	o.sourceGroups = spec.Groups
	if !changed("include-system-users") && spec.IgnoreSystemUsers != nil {
		o.includeSystem = !*spec.IgnoreSystemUsers
	}
	if !changed("report-namespace") && spec.ReportNamespace != "" {
		o.reportNamespace = spec.ReportNamespace
	}
	if !changed("max-subjects") && spec.Limits.MaxSubjects > 0 {
		o.maxSubjects = spec.Limits.MaxSubjects
	}
	if !changed("max-rules") && spec.Limits.MaxRulesPerReport > 0 {
		o.maxRules = spec.Limits.MaxRulesPerReport
	}
	p := spec.Policy
	setIf := func(flag string, dst *string, v string) {
		if !changed(flag) && v != "" {
			*dst = v
		}
	}
	setIf("scope-mode", (*string)(&o.strategy.ScopeMode), string(p.ScopeMode))
	setIf("verb-merge", (*string)(&o.strategy.VerbMerge), string(p.VerbMerge))
	setIf("wildcards", (*string)(&o.strategy.Wildcards), string(p.Wildcards))
	setIf("resource-names", (*string)(&o.strategy.ResourceNames), string(p.ResourceNames))
	if !changed("migrate-deprecated-groups") && p.MigrateDeprecatedGroups != nil {
		o.migrate = *p.MigrateDeprecatedGroups
	}
	return nil
}

func validateStrategy(s v1alpha1.PolicyStrategy) error {
	check := func(flag, v string, allowed ...string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("--%s must be one of %s, not %q", flag, strings.Join(allowed, ", "), v)
	}
	return errors.Join(
		check("scope-mode", string(s.ScopeMode), string(v1alpha1.ScopeModeNamespaceStrict), string(v1alpha1.ScopeModeClusterScopeAllowed)),
		check("verb-merge", string(s.VerbMerge), string(v1alpha1.VerbMergeSmart), string(v1alpha1.VerbMergeExact)),
		check("wildcards", string(s.Wildcards), string(v1alpha1.WildcardsForbidden), string(v1alpha1.WildcardsSafe)),
		check("resource-names", string(s.ResourceNames), string(v1alpha1.ResourceNamesOmit), string(v1alpha1.ResourceNamesExplicit)),
	)
}

// filterField splits a --filter value at each `,field=`, so that a regular
// expression may itself contain commas.
var filterField = regexp.MustCompile(`(?:^|,)(user|group|namespace|verb|resource)=`)

// parseFilter reads ACTION:FIELD=REGEX[,FIELD=REGEX...].
func parseFilter(s string) (v1alpha1.FilterRule, error) {
	action, fields, ok := strings.Cut(s, ":")
	r := v1alpha1.FilterRule{Action: v1alpha1.FilterAction(action)}
	if !ok || (r.Action != v1alpha1.FilterActionAllow && r.Action != v1alpha1.FilterActionDeny) {
		return r, fmt.Errorf("--filter %q: expected Allow:FIELD=REGEX or Deny:FIELD=REGEX", s)
	}
	locs := filterField.FindAllStringSubmatchIndex(fields, -1)
	if len(locs) == 0 || locs[0][0] != 0 {
		return r, fmt.Errorf("--filter %q: expected FIELD=REGEX with FIELD one of user, group, namespace, verb, resource", s)
	}
	for i, loc := range locs {
		end := len(fields)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		value := fields[loc[1]:end]
		switch fields[loc[2]:loc[3]] {
		case "user":
			r.User = value
		case "group":
			r.Group = value
		case "namespace":
			r.Namespace = value
		case "verb":
			r.Verb = value
		case "resource":
			r.Resource = value
		}
	}
	return r, nil
}

func (o *analyzeOptions) pipelineOptions() (pipeline.Options, error) {
	opts := pipeline.Options{
		IgnoreSystemUsers:       !o.includeSystem,
		MigrateDeprecatedGroups: o.migrate,
		Groups:                  append(slices.Clone(o.groups), o.sourceGroups...),
		MaxSubjects:             int(o.maxSubjects),
		MaxRulesPerSubject:      int(o.maxRules),
		Filters:                 slices.Clone(o.sourceFilters),
	}
	for _, s := range o.filters {
		r, err := parseFilter(s)
		if err != nil {
			return opts, err
		}
		if err := pipeline.CheckFilter(r); err != nil {
			return opts, fmt.Errorf("--filter %q: %w", s, err)
		}
		opts.Filters = append(opts.Filters, r)
	}
	return opts, nil
}

// readSummary is what was read from the inputs.
type readSummary struct {
	files int
	audit.StreamStats
}

// feed streams every input file through the pipeline.
func feed(p *pipeline.Pipeline, files []string, stdin io.Reader, skipSystemUsers bool) (readSummary, error) {
	var sum readSummary
	for _, name := range files {
		stats, err := feedOne(p, name, stdin, skipSystemUsers)
		sum.Add(stats)
		if err != nil {
			return sum, err
		}
		sum.files++
	}
	return sum, nil
}

func feedOne(p *pipeline.Pipeline, name string, stdin io.Reader, skipSystemUsers bool) (audit.StreamStats, error) {
	// System users are dropped by the pipeline anyway; the decoder need not
	// read the rest of their events.
	opts := audit.StreamOptions{SkipSystemUsers: skipSystemUsers}
	batches := 0
	sink := func(events []audit.Event) {
		for i := range events {
			p.Observe(&events[i])
		}
		// The aggregate grows as events come in: the memory limit follows
		// it, every 64 chunks or so.
		if batches++; batches%64 == 0 {
			limitMemory()
		}
	}
	if name == "-" {
		return streamReader("stdin", stdin, opts, sink)
	}
	f, err := os.Open(name)
	if err != nil {
		return audit.StreamStats{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return audit.StreamStats{}, err
	}
	if info.IsDir() {
		return audit.StreamStats{}, fmt.Errorf("%s is a directory, not an audit log", name)
	}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); !info.Mode().IsRegular() || (n == 2 && isGzip(magic[:])) {
		return streamReader(name, f, opts, sink)
	}
	stats, err := audit.StreamFile(f, opts, sink)
	if err != nil {
		return stats, fmt.Errorf("reading %s: %w", name, err)
	}
	return stats, nil
}

// streamReader decodes a stream, gunzipping it when it starts as gzip does.
func streamReader(name string, in io.Reader, opts audit.StreamOptions, sink func([]audit.Event)) (audit.StreamStats, error) {
	br := bufio.NewReaderSize(in, 1<<16)
	in = br
	if magic, _ := br.Peek(2); isGzip(magic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return audit.StreamStats{}, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		in = zr
	}
	stats, err := audit.Stream(in, opts, sink)
	if err != nil {
		return stats, fmt.Errorf("reading %s: %w", name, err)
	}
	return stats, nil
}

func isGzip(magic []byte) bool { return len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b }

func (o *analyzeOptions) run(stdout, stderr io.Writer) error {
	opts, err := o.pipelineOptions()
	if err != nil {
		return err
	}
	p, err := pipeline.New(opts)
	if err != nil {
		return err
	}
	adviseHugePages()
	limitMemory()
	read, err := feed(p, o.files, os.Stdin, !o.includeSystem)
	if err != nil {
		return err
	}
	limitMemory()
	out, err := o.newOutput(stdout, stderr)
	if err != nil {
		return err
	}
	subjects := p.Subjects()
	wanted := o.wantedSubjects()
	for _, s := range slices.SortedFunc(maps.Keys(wanted), pipeline.CompareSubjects) {
		if !p.Tracks(s) {
			fmt.Fprintf(stderr, "audicia: warning: no request of %s was counted\n", s)
		}
	}
	shown, err := renderAll(p, wanted, o.strategy, out, o.output != "table" || o.outDir != "")
	if err == nil {
		err = out.close()
	}
	if err != nil {
		return err
	}
	if !o.quiet {
		printSummary(stderr, read, p.Counters(), subjects, shown)
	}
	return nil
}

// memoryFloor is the soft memory limit while the aggregate is small. With
// the binary's own pages, it keeps an analysis of a few million requests
// within 100 MB.
const memoryFloor = 54 << 20

// limitMemory sets a soft memory limit of max(memoryFloor, 1.5x the live
// heap). The live heap is mostly the aggregate: it grows while the input is
// read and shrinks as reports are written. Its garbage (the chunks read, and
// rendering's short-lived objects) may then take up to half as much again
// before the collector runs: the default target, twice the live heap, would
// double the peak, and a fixed limit below a large aggregate would collect
// without pause. GOGC or GOMEMLIMIT in the environment win.
func limitMemory() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	live := int64(sample[0].Value.Uint64())
	debug.SetMemoryLimit(max(memoryFloor, live*3/2))
}

// renderAll renders the wanted subjects' policies (unless the output needs
// none) on every core and writes them in subject order. Only a few subjects
// are in flight at a time, so memory holds a few rendered policies, not all.
func renderAll(p *pipeline.Pipeline, wanted map[v1alpha1.Subject]bool, strategy v1alpha1.PolicyStrategy, out output, withPolicy bool) (int, error) {
	type result struct {
		s   *subjectOutput
		err error
	}
	type job struct {
		report pipeline.SubjectReport
		done   chan<- result
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan job, workers)
	pending := make(chan chan result, 2*workers) // futures, in subject order
	stop := make(chan struct{})
	// A few long-lived workers, not a goroutine per subject: each new one
	// would grow its stack again to render.
	for range workers {
		go func() {
			for j := range jobs {
				s := &subjectOutput{report: j.report, slug: policy.SubjectSlug(j.report.Subject)}
				if withPolicy {
					s.suggest(strategy)
				}
				j.done <- result{s, out.prepare(s)}
			}
		}()
	}
	go func() {
		defer close(pending)
		defer close(jobs)
		_ = p.DrainReports(func(r pipeline.SubjectReport) error {
			if wanted != nil && !wanted[r.Subject] {
				return nil
			}
			future := make(chan result, 1)
			select {
			case pending <- future:
			case <-stop:
				return errStopped
			}
			jobs <- job{r, future}
			return nil
		})
	}()
	shown := 0
	var firstErr error
	for future := range pending {
		res := <-future
		if firstErr != nil {
			continue
		}
		if firstErr = res.err; firstErr == nil {
			firstErr = out.write(res.s)
			shown++
		}
		res.s.release()
		if firstErr != nil {
			close(stop)
		}
	}
	return shown, firstErr
}

var errStopped = errors.New("stopped")

// wantedSubjects are the subjects asked for with --user, --serviceaccount and
// --group; nil when none was asked for, which keeps all.
func (o *analyzeOptions) wantedSubjects() map[v1alpha1.Subject]bool {
	if len(o.users)+len(o.serviceAccounts)+len(o.groups) == 0 {
		return nil
	}
	wanted := map[v1alpha1.Subject]bool{}
	for _, u := range o.users {
		wanted[v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: u}] = true
	}
	for _, sa := range o.serviceAccounts {
		ns, name, _ := splitServiceAccount(sa)
		wanted[v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: ns, Name: name}] = true
	}
	for _, g := range o.groups {
		wanted[v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: g}] = true
	}
	return wanted
}

// splitServiceAccount reads NAMESPACE:NAME or NAMESPACE/NAME; neither part
// can hold a colon or a slash.
func splitServiceAccount(s string) (namespace, name string, ok bool) {
	i := strings.IndexAny(s, ":/")
	if i < 0 {
		return "", "", false
	}
	namespace, name = s[:i], s[i+1:]
	return namespace, name, namespace != "" && name != "" && !strings.ContainsAny(name, ":/")
}

func printSummary(w io.Writer, read readSummary, c pipeline.Counters, subjects, shown int) {
	fmt.Fprintf(w, "audicia: read %d lines (%.1f MB) from %d file(s): %d events, %d malformed, %d oversized\n",
		read.Lines, float64(read.StreamStats.Bytes)/1e6, read.files, read.Events, read.Malformed+c.Malformed, read.Oversized)
	fmt.Fprintf(w, "audicia: %d requests counted; skipped %d RequestReceived or unknown-stage events, %d repeated stages, %d unauthenticated, %d refused before authorization, %d filtered, %d dropped by limits\n",
		c.Processed, c.Skipped, c.Duplicates, c.Unauthenticated, c.Refused, c.Filtered, c.Dropped)
	fmt.Fprintf(w, "audicia: %d subjects seen, %d shown\n", subjects, shown)
}

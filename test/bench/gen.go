package bench

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/audicia/audicia/internal/jsonenc"
)

// GenStats describes a generated audit log.
type GenStats struct {
	// Lines is the number of JSON lines (audit events) written.
	Lines int64 `json:"lines"`
	// Bytes is the number of bytes written, newlines included.
	Bytes int64 `json:"bytes"`
	// Requests is the number of distinct auditIDs (one per API request).
	Requests int64 `json:"requests"`
	// Counted is Requests minus the unauthenticated (401) requests: the
	// requests an analyzer attributes to a subject.
	Counted int64 `json:"counted"`

	// Lines per stage.
	RequestReceived  int64 `json:"requestReceived"`
	ResponseStarted  int64 `json:"responseStarted"`
	ResponseComplete int64 `json:"responseComplete"`

	// Requests per kind (informational; they overlap).
	Denied          int64 `json:"denied"`
	Unauthenticated int64 `json:"unauthenticated"`
	Impersonated    int64 `json:"impersonated"`
	NonResource     int64 `json:"nonResource"`
}

// genFormat versions the generator output. Bump it whenever Generate's output
// for a given (requests, seed) changes, so EnsureLog regenerates stale logs.
const genFormat = 1

// Stages, indexes into the stage name table.
const (
	stageRequestReceived = iota
	stageResponseStarted
	stageResponseComplete
)

var stageNames = [...]string{"RequestReceived", "ResponseStarted", "ResponseComplete"}

// The log starts here and spans about logSpan whatever the request count, so
// the request rate grows with the size of the log.
var (
	logStart = time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC).UnixMicro()
	logSpan  = (3 * time.Hour).Microseconds()
)

// Generate writes a deterministic synthetic kube-apiserver audit log of
// `requests` API requests to w: audit.k8s.io/v1 events at Metadata level, one
// JSON object per line, with the fields in the order kube-apiserver writes
// them. The same seed gives the same bytes.
//
// The mix: 2,000 ServiceAccounts in 50 namespaces (about 40% of requests),
// 200 users (12%), 20 nodes (36%) and the controller manager, scheduler and
// API server; core, apps, batch, rbac, networking,
// coordination, discovery, a custom resource (widgets.example.com) and a few
// legacy extensions resources; subresources; all-namespaces lists;
// non-resource URLs; about 5% denied (403), 1% unauthenticated (401,
// ResponseStarted only, empty user), 1% impersonated; about 30% of requests
// preceded by their RequestReceived event; watches, exec and log as
// ResponseStarted then ResponseComplete, the latter written when the stream
// ends (later in the log, as the API server does). Object names come from a
// set of 50 per resource, so rules repeat. Lines average about 860 bytes:
// 1,000,000 requests make about 1.39 million lines, 1.2 GB.
func Generate(w io.Writer, requests int, seed int64) (GenStats, error) {
	if requests < 0 {
		return GenStats{}, fmt.Errorf("bench: negative request count %d", requests)
	}
	g := newGenerator(w, requests, seed)
	for i := 0; i < requests && g.err == nil; i++ {
		g.request()
	}
	g.flushPending(1<<62 - 1)
	if err := g.w.Flush(); err != nil && g.err == nil {
		g.err = err
	}
	g.st.Counted = g.st.Requests - g.st.Unauthenticated
	return g.st, g.err
}

// EnsureLog returns the path of <dir>/audit-<requests>-<seed>.log, generating
// it first unless an earlier run left a complete one, and the log's stats
// (kept next to it in audit-<requests>-<seed>.stats.json). Both files are
// written to temporary names and renamed into place, so a crashed or
// concurrent run never leaves a partial log behind under the final name.
func EnsureLog(dir string, requests int, seed int64) (string, GenStats, error) {
	base := filepath.Join(dir, fmt.Sprintf("audit-%d-%d", requests, seed))
	logPath, statsPath := base+".log", base+".stats.json"
	if st, ok := cachedStats(logPath, statsPath); ok {
		return logPath, st, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", GenStats{}, err
	}

	tmp, err := os.CreateTemp(dir, ".audit-*.log.tmp")
	if err != nil {
		return "", GenStats{}, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	st, err := Generate(tmp, requests, seed)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", GenStats{}, fmt.Errorf("bench: generating %s: %w", logPath, err)
	}

	meta, err := json.MarshalIndent(statsFile{Format: genFormat, Requests: requests, Seed: seed, Stats: st}, "", "  ")
	if err != nil {
		return "", GenStats{}, err
	}
	tmpStats, err := os.CreateTemp(dir, ".audit-*.stats.tmp")
	if err != nil {
		return "", GenStats{}, err
	}
	defer os.Remove(tmpStats.Name())
	_, err = tmpStats.Write(append(meta, '\n'))
	if err == nil {
		err = tmpStats.Chmod(0o644)
	}
	if cerr := tmpStats.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", GenStats{}, err
	}
	// The log first: stats without their log are never taken as valid.
	if err := os.Rename(tmp.Name(), logPath); err != nil {
		return "", GenStats{}, err
	}
	if err := os.Rename(tmpStats.Name(), statsPath); err != nil {
		return "", GenStats{}, err
	}
	return logPath, st, nil
}

type statsFile struct {
	Format   int      `json:"format"`
	Requests int      `json:"requests"`
	Seed     int64    `json:"seed"`
	Stats    GenStats `json:"stats"`
}

// cachedStats reports the stats of a complete log left by an earlier run of
// the same generator format.
func cachedStats(logPath, statsPath string) (GenStats, bool) {
	data, err := os.ReadFile(statsPath)
	if err != nil {
		return GenStats{}, false
	}
	var sf statsFile
	if json.Unmarshal(data, &sf) != nil || sf.Format != genFormat {
		return GenStats{}, false
	}
	fi, err := os.Stat(logPath)
	if err != nil || fi.Size() != sf.Stats.Bytes {
		return GenStats{}, false
	}
	return sf.Stats, true
}

// ---------------------------------------------------------------------------
// Randomness

// rnd is a small deterministic source. PCG's output stream is fixed by its
// specification, and the helpers below are ours, so a seed keeps meaning the
// same log across Go releases.
type rnd struct{ src *rand.PCG }

func newRnd(seed int64, stream uint64) *rnd {
	return &rnd{src: rand.NewPCG(uint64(seed), stream)}
}

func (r *rnd) u64() uint64 { return r.src.Uint64() }

// intn returns a number in [0, n).
func (r *rnd) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// chance reports true with probability perMille/1000.
func (r *rnd) chance(perMille int) bool { return r.intn(1000) < perMille }

// between returns a number in [lo, hi].
func (r *rnd) between(lo, hi int64) int64 { return lo + int64(r.intn(int(hi-lo+1))) }

// skewed returns an index in [0, n) biased to low indexes, so some subjects
// are much busier than others.
func (r *rnd) skewed(n int) int {
	a, b := r.intn(n), r.intn(n)
	return a * b / n
}

const hexDigits = "0123456789abcdef"

// uuid writes a random (version 4) UUID in its text form.
func (r *rnd) uuid(dst *[36]byte) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], r.u64())
	binary.LittleEndian.PutUint64(raw[8:], r.u64())
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
}

func (r *rnd) uuidString() string {
	var u [36]byte
	r.uuid(&u)
	return string(u[:])
}

// alnum returns n characters from the alphabet Kubernetes uses for generated
// name suffixes.
func (r *rnd) alnum(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.intn(len(alphabet))]
	}
	return string(b)
}

func (r *rnd) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.intn(16)]
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// The cluster: resources, subjects and what each subject does

type resource struct {
	group, version, plural string
	namespaced             bool
	prefix                 string // "/api/v1" or "/apis/<group>/<version>"
	qualified              string // "pods", "deployments.apps"
	names                  []string
}

// Scopes of an action.
const (
	scopeOwn     = 'O' // the subject's namespace (a random one for non-ServiceAccounts)
	scopeAny     = 'A' // a random namespace per request
	scopeAll     = 'W' // all namespaces: a namespaced collection without a namespace
	scopeCluster = 'C' // a cluster-scoped resource
	scopeNode    = 'N' // all namespaces, selected by the subject's node name
	scopeLease   = 'L' // the subject's own lease
	scopeSelf    = 'S' // the subject's own Node object
	scopeSystem  = 'K' // kube-system
)

// tmpl is a line of a role profile: verbs on a resource in a scope.
type tmpl struct {
	group, resource, sub string
	verbs                string
	scope                byte
	weight               int
}

type profile struct {
	name   string
	weight int
	rules  []tmpl
}

const (
	gRBAC   = "rbac.authorization.k8s.io"
	gNet    = "networking.k8s.io"
	gCoord  = "coordination.k8s.io"
	gWidget = "example.com"
	gDisc   = "discovery.k8s.io"
)

var saProfiles = []profile{
	{"app", 40, []tmpl{
		{"", "configmaps", "", "get,list,watch", scopeOwn, 6},
		{"", "secrets", "", "get", scopeOwn, 3},
		{"", "services", "", "get,list", scopeOwn, 2},
		{"", "pods", "", "get,list", scopeOwn, 2},
		{"", "events", "", "create,patch", scopeOwn, 2},
		{gCoord, "leases", "", "get,update", scopeOwn, 6},
		{"", "endpoints", "", "get", scopeOwn, 1},
	}},
	{"operator", 20, []tmpl{
		{"apps", "deployments", "", "get,list,watch,create,update,patch,delete", scopeOwn, 6},
		{"apps", "deployments", "status", "update", scopeOwn, 2},
		{"apps", "deployments", "scale", "get,update,patch", scopeOwn, 1},
		{"apps", "statefulsets", "", "get,list,watch,update", scopeOwn, 3},
		{"apps", "replicasets", "", "list,watch", scopeOwn, 2},
		{"", "pods", "", "list,watch,delete,deletecollection", scopeOwn, 3},
		{gWidget, "widgets", "", "get,list,watch,create,update,patch,delete", scopeAny, 6},
		{gWidget, "widgets", "status", "update,patch", scopeAny, 3},
		{"", "configmaps", "", "get,create,update", scopeOwn, 2},
		{"", "events", "", "create", scopeOwn, 1},
		{gCoord, "leases", "", "get,update", scopeOwn, 4},
	}},
	{"batch", 10, []tmpl{
		{"batch", "jobs", "", "get,list,watch,create,delete,deletecollection", scopeOwn, 5},
		{"batch", "cronjobs", "", "get,list,watch,update,patch", scopeOwn, 3},
		{"batch", "cronjobs", "status", "update", scopeOwn, 1},
		{"", "pods", "", "list,watch,deletecollection", scopeOwn, 2},
		{"", "pods", "log", "get", scopeOwn, 1},
		{"", "events", "", "create", scopeOwn, 1},
	}},
	{"deployer", 10, []tmpl{
		{"apps", "deployments", "", "get,list,create,patch", scopeAny, 5},
		{"", "services", "", "get,create,patch", scopeAny, 2},
		{"", "configmaps", "", "get,create,patch", scopeAny, 2},
		{"", "secrets", "", "get,create,patch", scopeAny, 2},
		{"", "serviceaccounts", "token", "create", scopeOwn, 1},
		{"", "pods", "exec", "create", scopeAny, 1},
		{"", "pods", "log", "get", scopeAny, 1},
		{gNet, "ingresses", "", "get,create,patch", scopeAny, 1},
		{gNet, "networkpolicies", "", "get,create", scopeAny, 1},
		{gRBAC, "rolebindings", "", "get,create", scopeAny, 1},
		{"", "namespaces", "", "get", scopeCluster, 1},
	}},
	{"monitoring", 10, []tmpl{
		{"", "pods", "", "list,watch", scopeAll, 4},
		{"", "nodes", "", "get,list,watch", scopeCluster, 3},
		{"", "services", "", "list,watch", scopeAll, 2},
		{"", "endpoints", "", "list,watch", scopeAll, 2},
		{gDisc, "endpointslices", "", "list,watch", scopeAll, 2},
		{"", "namespaces", "", "list,watch", scopeCluster, 1},
		{"apps", "deployments", "", "list,watch", scopeAll, 1},
		{"", "persistentvolumes", "", "list", scopeCluster, 1},
	}},
	{"legacy", 5, []tmpl{
		{"extensions", "deployments", "", "get,list", scopeAny, 3},
		{"extensions", "ingresses", "", "get,list", scopeAny, 2},
		{"", "configmaps", "", "get", scopeOwn, 2},
	}},
	{"rbac-manager", 5, []tmpl{
		{gRBAC, "roles", "", "get,list,create,update,delete", scopeAny, 3},
		{gRBAC, "rolebindings", "", "get,list,create,update,delete", scopeAny, 3},
		{gRBAC, "clusterroles", "", "get,list", scopeCluster, 1},
		{gRBAC, "clusterrolebindings", "", "get,list,create", scopeCluster, 1},
		{"", "serviceaccounts", "", "get,list,create", scopeAny, 2},
	}},
}

var (
	developerRules = []tmpl{
		{"", "pods", "", "get,list,watch", scopeAny, 8},
		{"", "pods", "log", "get", scopeAny, 4},
		{"", "pods", "exec", "create", scopeAny, 2},
		{"apps", "deployments", "", "get,list,patch", scopeAny, 4},
		{"apps", "deployments", "scale", "patch", scopeAny, 1},
		{"", "configmaps", "", "get,list", scopeAny, 2},
		{"", "secrets", "", "get,list", scopeAny, 1},
		{"", "services", "", "get,list", scopeAny, 2},
		{"", "events", "", "list", scopeAny, 2},
		{"", "pods", "", "list", scopeAll, 1},
		{"", "namespaces", "", "list", scopeCluster, 1},
		{"batch", "jobs", "", "get,create", scopeAny, 1},
		{"extensions", "ingresses", "", "list", scopeAny, 1},
		{gWidget, "widgets", "", "get,list", scopeAny, 1},
	}
	opsRules = []tmpl{
		{"", "nodes", "", "get,list,patch", scopeCluster, 3},
		{"", "persistentvolumes", "", "get,list,delete", scopeCluster, 2},
		{"", "namespaces", "", "get,list,create,delete", scopeCluster, 2},
		{gRBAC, "clusterroles", "", "get,list", scopeCluster, 1},
		{gRBAC, "clusterrolebindings", "", "get,create", scopeCluster, 1},
		{"apps", "deployments", "", "get,list,watch,update,patch,delete", scopeAny, 3},
		{"apps", "deployments", "", "list", scopeAll, 1},
		{"apps", "statefulsets", "", "get,list,patch", scopeAny, 2},
		{"apps", "deployments", "scale", "get,update", scopeAny, 1},
		{"", "pods", "", "delete,deletecollection", scopeAny, 2},
		{"", "pods", "exec", "create", scopeAny, 1},
		{gNet, "networkpolicies", "", "get,list,create", scopeAny, 1},
		{gCoord, "leases", "", "list", scopeAny, 1},
		{gRBAC, "rolebindings", "", "create,delete", scopeAny, 1},
		{"", "secrets", "", "list", scopeAll, 1},
	}
	auditorRules = []tmpl{
		{"", "pods", "", "list", scopeAll, 2},
		{"", "secrets", "", "list", scopeAll, 1},
		{gRBAC, "roles", "", "list", scopeAll, 1},
		{gRBAC, "rolebindings", "", "list", scopeAll, 1},
		{gRBAC, "clusterroles", "", "list", scopeCluster, 1},
		{gRBAC, "clusterrolebindings", "", "list", scopeCluster, 1},
		{"", "events", "", "list", scopeAny, 2},
		{"", "namespaces", "", "get,list", scopeCluster, 1},
	}
	nodeRules = []tmpl{
		{"", "pods", "", "list,watch", scopeNode, 4},
		{"", "pods", "", "get", scopeAny, 2},
		{"", "pods", "status", "patch", scopeAny, 4},
		{"", "nodes", "", "get,patch", scopeSelf, 3},
		{"", "nodes", "status", "patch", scopeSelf, 3},
		{gCoord, "leases", "", "get,update", scopeLease, 8},
		{"", "events", "", "create,patch", scopeAny, 2},
		{"", "configmaps", "", "get,watch", scopeAny, 2},
		{"", "secrets", "", "get,watch", scopeAny, 1},
		{"", "serviceaccounts", "token", "create", scopeAny, 2},
		{"", "services", "", "list,watch", scopeAll, 1},
	}
	controllerManagerRules = []tmpl{
		{gCoord, "leases", "", "get,update", scopeLease, 6},
		{"", "pods", "", "list,watch", scopeAll, 2},
		{"apps", "deployments", "", "list,watch", scopeAll, 1},
		{"apps", "replicasets", "", "list,watch", scopeAll, 1},
		{"apps", "replicasets", "", "create,update,delete", scopeAny, 2},
		{"", "pods", "", "create,delete", scopeAny, 2},
		{"apps", "deployments", "status", "update", scopeAny, 2},
		{"", "events", "", "create", scopeAny, 2},
		{"", "serviceaccounts", "token", "create", scopeSystem, 2},
		{"batch", "jobs", "", "list,watch", scopeAll, 1},
		{"", "namespaces", "", "list,watch", scopeCluster, 1},
		{"", "nodes", "", "list,watch", scopeCluster, 1},
		{"", "nodes", "status", "patch", scopeCluster, 1},
		{"", "endpoints", "", "update", scopeAny, 1},
		{gDisc, "endpointslices", "", "create,update,delete", scopeAny, 2},
	}
	schedulerRules = []tmpl{
		{gCoord, "leases", "", "get,update", scopeLease, 6},
		{"", "pods", "", "list,watch", scopeAll, 2},
		{"", "pods", "binding", "create", scopeAny, 4},
		{"", "pods", "status", "patch", scopeAny, 1},
		{"", "nodes", "", "list,watch", scopeCluster, 1},
		{"", "events", "", "create", scopeAny, 1},
		{"", "persistentvolumes", "", "list,watch", scopeCluster, 1},
	}
	apiserverRules = []tmpl{
		{gCoord, "leases", "", "get,update", scopeLease, 6},
		{"", "endpoints", "", "get,update", scopeSystem, 1},
		{"", "namespaces", "", "get,list,watch", scopeCluster, 1},
		{"", "configmaps", "", "get,watch", scopeSystem, 1},
	}
)

var namespaces = []string{
	"kube-system", "default", "monitoring", "ingress-nginx", "cert-manager", "argocd", "logging",
	"istio-system", "shop", "billing", "payments", "checkout", "catalog", "search", "orders",
	"inventory", "shipping", "accounts", "auth", "notifications", "analytics", "reporting",
	"data", "ml", "etl", "batch", "ci", "staging", "qa", "sandbox", "platform", "gateway",
	"mesh", "storage", "backup", "vault", "observability", "tracing", "media", "cdn",
	"recommendations", "reviews", "pricing", "cart", "fraud", "ledger", "support", "chat",
	"mail", "web",
}

var appWords = []string{
	"web", "api", "worker", "frontend", "backend", "cache", "redis", "postgres", "kafka",
	"scheduler", "controller", "operator", "exporter", "agent", "gateway", "proxy", "sync",
	"indexer", "crawler", "mailer", "notifier", "ingester", "compactor", "querier", "router",
	"auth", "session", "ledger", "reports", "cron", "migrator", "importer", "uploader",
	"resizer", "renderer", "collector", "shipper", "relay", "broker", "janitor", "reaper",
	"builder", "runner", "deployer", "watcher", "tracker", "planner", "checker", "emitter",
	"loader",
}

const (
	nodeCount        = 20
	saPerNamespace   = 40
	userCount        = 200
	namesPerResource = 50
)

type action struct {
	res        *resource
	sub        string
	verb       string
	scope      byte
	denied     bool
	reasonJSON []byte // the quoted JSON string of the allow reason
}

type subjectKind uint8

const (
	kindServiceAccount subjectKind = iota
	kindUser
	kindNode
	kindControlPlane
)

type subject struct {
	kind      subjectKind
	username  string
	userJSON  []byte // the "user" object
	impJSON   []byte // the "impersonatedUser" object when someone acts as this subject
	ns        string // ServiceAccount namespace
	nodeName  string // kindNode
	leaseNS   string // scopeLease
	leaseName string
	agentJSON []byte // the quoted userAgent
	ip        string
	kubectl   bool // writes like kubectl (field managers, limit=500)
	metrics   bool // may read /metrics
	masters   bool // in system:masters: every call allowed, empty reason
	actions   []action
	cum       []int // cumulative action weights
}

func (s *subject) pick(r *rnd) *action {
	x := r.intn(s.cum[len(s.cum)-1])
	lo, hi := 0, len(s.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if s.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return &s.actions[lo]
}

type cluster struct {
	resources     map[string]*resource
	sas           []*subject
	users         []*subject
	devs          []*subject
	impersonators []*subject
	nodes         []*subject
	controlPlane  []*subject // controller manager, scheduler, apiserver
	anonAgents    [][]byte
}

func resourceKey(group, plural string) string {
	if group == "" {
		return plural
	}
	return group + "/" + plural
}

func newCluster(r *rnd) *cluster {
	c := &cluster{resources: map[string]*resource{}}
	add := func(group, version, plural string, namespaced bool) {
		res := &resource{group: group, version: version, plural: plural, namespaced: namespaced, qualified: plural}
		if group == "" {
			res.prefix = "/api/" + version
		} else {
			res.prefix = "/apis/" + group + "/" + version
			res.qualified = plural + "." + group
		}
		res.names = makeNames(r, plural)
		c.resources[resourceKey(group, plural)] = res
	}
	for _, p := range []string{"pods", "configmaps", "secrets", "services", "events", "serviceaccounts", "endpoints", "persistentvolumeclaims"} {
		add("", "v1", p, true)
	}
	for _, p := range []string{"namespaces", "nodes", "persistentvolumes"} {
		add("", "v1", p, false)
	}
	for _, p := range []string{"deployments", "statefulsets", "replicasets", "daemonsets"} {
		add("apps", "v1", p, true)
	}
	add("batch", "v1", "jobs", true)
	add("batch", "v1", "cronjobs", true)
	add(gRBAC, "v1", "roles", true)
	add(gRBAC, "v1", "rolebindings", true)
	add(gRBAC, "v1", "clusterroles", false)
	add(gRBAC, "v1", "clusterrolebindings", false)
	add(gNet, "v1", "ingresses", true)
	add(gNet, "v1", "networkpolicies", true)
	add(gCoord, "v1", "leases", true)
	add(gDisc, "v1", "endpointslices", true)
	add(gWidget, "v1", "widgets", true)
	add("extensions", "v1beta1", "deployments", true)
	add("extensions", "v1beta1", "ingresses", true)

	kubectlAgents := []string{
		"kubectl/v1.34.10 (linux/amd64) kubernetes/$Format",
		"kubectl/v1.34.2 (darwin/arm64) kubernetes/8cc511e",
		"kubectl/v1.33.5 (linux/amd64) kubernetes/9c2fe0b",
		"kubectl/v1.32.4 (windows/amd64) kubernetes/4cb5f07",
		"k9s/v0.50.16 (darwin/arm64) kubernetes/$Format",
	}

	// ServiceAccounts: 40 per namespace, each with one role profile.
	profileTotal := 0
	for _, p := range saProfiles {
		profileTotal += p.weight
	}
	for ni, ns := range namespaces {
		words := append([]string(nil), appWords...)
		for i := len(words) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			words[i], words[j] = words[j], words[i]
		}
		for i := 0; i < saPerNamespace; i++ {
			name := words[i]
			s := &subject{
				kind:     kindServiceAccount,
				username: "system:serviceaccount:" + ns + ":" + name,
				ns:       ns,
				ip:       "10.244." + strconv.Itoa(ni) + "." + strconv.Itoa(2+r.intn(250)),
			}
			groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
			var extra [][2]string
			switch x := r.intn(100); {
			case x < 5: // a projected token bound to a pod
				pod := name + "-" + r.alnum(10) + "-" + r.alnum(5)
				extra = [][2]string{
					{"authentication.kubernetes.io/credential-id", "JTI=" + r.uuidString()},
					{"authentication.kubernetes.io/node-name", "node-" + strconv.Itoa(1+r.intn(nodeCount))},
					{"authentication.kubernetes.io/node-uid", r.uuidString()},
					{"authentication.kubernetes.io/pod-name", pod},
					{"authentication.kubernetes.io/pod-uid", r.uuidString()},
				}
			case x < 25: // a bound token without a pod (kubectl create token, CI)
				extra = [][2]string{{"authentication.kubernetes.io/credential-id", "JTI=" + r.uuidString()}}
			}
			s.userJSON = appendUser(nil, s.username, r.uuidString(), groups, extra)
			s.impJSON = appendUser(nil, s.username, "", groups, nil)
			x := r.intn(profileTotal)
			var p profile
			for _, p = range saProfiles {
				if x < p.weight {
					break
				}
				x -= p.weight
			}
			switch r.intn(4) {
			case 0:
				s.agentJSON = quoted("manager/v0.0.0 (linux/amd64) kubernetes/$Format")
			case 1:
				s.agentJSON = quoted(name + "/v0.0.0 (linux/amd64) kubernetes/$Format")
			case 2:
				s.agentJSON = quoted(kubectlAgents[0])
				s.kubectl = true
			default:
				s.agentJSON = quoted("Go-http-client/2.0")
			}
			s.metrics = p.name == "monitoring"
			c.expand(r, s, p.rules, p.name, 100)
			c.sas = append(c.sas, s)
		}
	}
	shuffle(r, c.sas)

	// Users: developers, operators and auditors, and one cluster admin.
	for i := 1; i <= userCount; i++ {
		var name, group, role string
		var rules []tmpl
		deny := 60
		switch {
		case i <= 130:
			name, group, role, rules = "dev"+strconv.Itoa(i)+"@example.com", "developers", "edit", developerRules
		case i <= 180:
			name, group, role, rules = "ops"+strconv.Itoa(i-130)+"@example.com", "ops", "ops", opsRules
			deny = 20
		default:
			name, group, role, rules = "auditor"+strconv.Itoa(i-180)+"@example.com", "auditors", "view", auditorRules
		}
		groups := []string{group, "system:authenticated"}
		if group == "developers" && r.chance(200) {
			groups = []string{group, "oncall", "system:authenticated"}
		}
		uid := ""
		if i%3 == 0 {
			uid = name[:len(name)-len("@example.com")] + "-uid"
		}
		s := &subject{
			kind:      kindUser,
			username:  name,
			userJSON:  appendUser(nil, name, uid, groups, nil),
			impJSON:   appendUser(nil, name, "", groups, nil),
			agentJSON: quoted(kubectlAgents[r.intn(len(kubectlAgents))]),
			ip:        "192.168." + strconv.Itoa(r.intn(16)) + "." + strconv.Itoa(2+r.intn(250)),
			kubectl:   true,
			metrics:   group == "ops",
		}
		c.expandUser(r, s, rules, group, role, deny)
		c.users = append(c.users, s)
		if group == "developers" {
			c.devs = append(c.devs, s)
		}
		if group == "ops" && len(c.impersonators) < 5 {
			c.impersonators = append(c.impersonators, s)
		}
	}
	admin := &subject{
		kind:      kindUser,
		username:  "admin",
		userJSON:  appendUser(nil, "admin", "admin-uid", []string{"system:masters", "system:authenticated"}, nil),
		agentJSON: quoted(kubectlAgents[0]),
		ip:        "127.0.0.1",
		kubectl:   true,
		metrics:   true,
		masters:   true,
	}
	c.expand(r, admin, opsRules, "", 0)
	c.users = append(c.users, admin)
	c.impersonators = append(c.impersonators, admin)

	// Nodes.
	for i := 1; i <= nodeCount; i++ {
		node := "node-" + strconv.Itoa(i)
		s := &subject{
			kind:      kindNode,
			username:  "system:node:" + node,
			userJSON:  appendUser(nil, "system:node:"+node, "", []string{"system:nodes", "system:authenticated"}, nil),
			nodeName:  node,
			leaseNS:   "kube-node-lease",
			leaseName: node,
			agentJSON: quoted("kubelet/v1.34.10 (linux/amd64) kubernetes/3b1e8a0"),
			ip:        "172.18.0." + strconv.Itoa(2+i),
		}
		c.expand(r, s, nodeRules, "", 0)
		c.nodes = append(c.nodes, s)
	}

	// Control plane.
	kcm := &subject{
		kind:      kindControlPlane,
		username:  "system:kube-controller-manager",
		userJSON:  appendUser(nil, "system:kube-controller-manager", "", []string{"system:authenticated"}, nil),
		leaseNS:   "kube-system",
		leaseName: "kube-controller-manager",
		agentJSON: quoted("kube-controller-manager/v1.34.10 (linux/amd64) kubernetes/3b1e8a0/leader-election"),
		ip:        "172.18.0.2",
	}
	c.expandFixed(r, kcm, controllerManagerRules, "RBAC: allowed by ClusterRoleBinding \"system:kube-controller-manager\" of ClusterRole \"system:kube-controller-manager\" to User \"system:kube-controller-manager\"")
	sched := &subject{
		kind:      kindControlPlane,
		username:  "system:kube-scheduler",
		userJSON:  appendUser(nil, "system:kube-scheduler", "", []string{"system:authenticated"}, nil),
		leaseNS:   "kube-system",
		leaseName: "kube-scheduler",
		agentJSON: quoted("kube-scheduler/v1.34.10 (linux/amd64) kubernetes/3b1e8a0/scheduler"),
		ip:        "172.18.0.2",
	}
	c.expandFixed(r, sched, schedulerRules, "RBAC: allowed by ClusterRoleBinding \"system:kube-scheduler\" of ClusterRole \"system:kube-scheduler\" to User \"system:kube-scheduler\"")
	apiserver := &subject{
		kind:      kindControlPlane,
		username:  "system:apiserver",
		userJSON:  appendUser(nil, "system:apiserver", r.uuidString(), []string{"system:authenticated", "system:masters"}, nil),
		leaseNS:   "kube-system",
		leaseName: "apiserver-" + r.alnum(26),
		agentJSON: quoted("kube-apiserver/v1.34.10 (linux/amd64) kubernetes/3b1e8a0"),
		ip:        "127.0.0.1",
		masters:   true,
		metrics:   true,
	}
	c.expandFixed(r, apiserver, apiserverRules, "")
	c.controlPlane = []*subject{kcm, sched, apiserver}

	c.anonAgents = [][]byte{quoted(kubectlAgents[0]), quoted("curl/8.5.0"), quoted("Go-http-client/1.1"), quoted("python-requests/2.32.3")}
	return c
}

func shuffle[T any](r *rnd, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// expand turns a ServiceAccount's profile into actions, keeping each rule
// with a probability of 70% (at least one), and denies 1 in denyPerMille/1000
// of them.
func (c *cluster) expand(r *rnd, s *subject, rules []tmpl, role string, denyPerMille int) {
	for len(s.actions) == 0 {
		for _, t := range rules {
			if s.kind == kindServiceAccount && !r.chance(700) {
				continue
			}
			c.addActions(r, s, t, denyPerMille, func(a *action) string {
				switch {
				case s.kind != kindServiceAccount || s.masters:
					return ""
				case a.scope == scopeOwn:
					sa := s.username[len("system:serviceaccount:"+s.ns+":"):]
					return fmt.Sprintf("RBAC: allowed by RoleBinding %q of Role %q to ServiceAccount %q", sa+"/"+s.ns, sa, sa+"/"+s.ns)
				default:
					sa := s.username[len("system:serviceaccount:"+s.ns+":"):]
					return fmt.Sprintf("RBAC: allowed by ClusterRoleBinding %q of ClusterRole %q to ServiceAccount %q", s.ns+"-"+sa, role, sa+"/"+s.ns)
				}
			})
		}
	}
}

// expandUser gives a user all rules of its group; secrets are mostly denied
// to developers and always to auditors, other rules 1 in deny/1000.
func (c *cluster) expandUser(r *rnd, s *subject, rules []tmpl, group, role string, denyPerMille int) {
	reason := fmt.Sprintf("RBAC: allowed by ClusterRoleBinding %q of ClusterRole %q to Group %q", group, role, group)
	for _, t := range rules {
		d := denyPerMille
		if t.resource == "secrets" {
			switch group {
			case "developers":
				d = 600
			case "auditors":
				d = 1000
			}
		}
		c.addActions(r, s, t, d, func(*action) string { return reason })
	}
}

func (c *cluster) expandFixed(r *rnd, s *subject, rules []tmpl, reason string) {
	for _, t := range rules {
		c.addActions(r, s, t, 0, func(*action) string { return reason })
	}
}

func (c *cluster) addActions(r *rnd, s *subject, t tmpl, denyPerMille int, reason func(*action) string) {
	res := c.resources[resourceKey(t.group, t.resource)]
	if res == nil {
		panic("bench: unknown resource " + resourceKey(t.group, t.resource))
	}
	verbs := splitComma(t.verbs)
	for _, v := range verbs {
		a := action{res: res, sub: t.sub, verb: v, scope: t.scope}
		if t.scope == scopeAll && v != "list" && v != "watch" {
			a.scope = scopeAny
		}
		a.denied = !s.masters && denyPerMille > 0 && r.chance(denyPerMille)
		a.reasonJSON = quoted(reason(&a))
		w := t.weight * verbWeight(v)
		s.actions = append(s.actions, a)
		prev := 0
		if len(s.cum) > 0 {
			prev = s.cum[len(s.cum)-1]
		}
		s.cum = append(s.cum, prev+w)
	}
}

// verbWeight makes reads more common than writes.
func verbWeight(v string) int {
	switch v {
	case "get":
		return 6
	case "list":
		return 4
	case "watch":
		return 2
	case "update", "patch":
		return 3
	case "create":
		return 2
	default: // delete, deletecollection
		return 1
	}
}

func splitComma(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// makeNames returns the bounded set of object names of a resource.
func makeNames(r *rnd, plural string) []string {
	switch plural {
	case "namespaces":
		return namespaces
	case "nodes":
		names := make([]string, nodeCount)
		for i := range names {
			names[i] = "node-" + strconv.Itoa(i+1)
		}
		return names
	}
	names := make([]string, namesPerResource)
	for i := range names {
		app := appWords[i%len(appWords)]
		switch plural {
		case "pods":
			names[i] = app + "-" + r.alnum(10) + "-" + r.alnum(5)
		case "replicasets", "endpointslices":
			names[i] = app + "-" + r.alnum(10)
		case "jobs":
			names[i] = app + "-" + strconv.Itoa(29000000+r.intn(999999))
		case "configmaps":
			names[i] = app + "-config"
			if i == 0 {
				names[i] = "kube-root-ca.crt"
			}
		case "secrets":
			names[i] = app + [...]string{"-tls", "-credentials", "-token"}[i%3]
		case "events":
			names[i] = app + "-" + r.alnum(10) + "-" + r.alnum(5) + "." + r.hex(16)
		case "leases":
			names[i] = app + "-leader-election"
		case "persistentvolumes":
			names[i] = "pvc-" + r.uuidString()
		case "persistentvolumeclaims":
			names[i] = "data-" + app + "-0"
		case "clusterroles", "clusterrolebindings":
			names[i] = "audicia-bench:" + app
		case "widgets":
			names[i] = "widget-" + app
		default:
			names[i] = app
		}
	}
	return names
}

// ---------------------------------------------------------------------------
// JSON pieces

func quoted(s string) []byte { return jsonenc.AppendString(nil, s) }

// appendUser appends an authentication.k8s.io/v1 UserInfo object. extra keys
// must be sorted, as encoding/json writes map keys.
func appendUser(b []byte, username, uid string, groups []string, extra [][2]string) []byte {
	b = append(b, `{"username":`...)
	b = jsonenc.AppendString(b, username)
	if uid != "" {
		b = append(b, `,"uid":`...)
		b = jsonenc.AppendString(b, uid)
	}
	if len(groups) > 0 {
		b = append(b, `,"groups":[`...)
		for i, g := range groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, g)
		}
		b = append(b, ']')
	}
	if len(extra) > 0 {
		b = append(b, `,"extra":{`...)
		for i, kv := range extra {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, kv[0])
			b = append(b, `:[`...)
			b = jsonenc.AppendString(b, kv[1])
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// ---------------------------------------------------------------------------
// The generator

type pendingLine struct {
	ts    int64
	seq   int64
	stage int
	line  []byte
}

type pendingHeap []pendingLine

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pendingLine)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Long-running request kinds (they get a ResponseStarted stage).
const (
	streamNone = iota
	streamWatch
	streamExec
	streamLog
)

type generator struct {
	r   *rnd
	c   *cluster
	w   *bufio.Writer
	err error
	st  GenStats

	now      int64 // microseconds since the epoch
	meanStep int64
	pending  pendingHeap
	seq      int64

	// the request being written
	id        [36]byte
	verb      string
	user      []byte
	imp       []byte
	ip        string
	agent     []byte
	uri       []byte // quoted
	ref       []byte // objectRef on response stages; empty for non-resource requests
	refRR     []byte // objectRef on RequestReceived (before the request object filled it in)
	status    []byte
	ann       []byte
	scratch   []byte
	line      []byte
	dayStart  int64
	dayPrefix []byte
	// watchSeconds is the timeoutSeconds of the current watch, or 0
	watchSeconds int64
	quotes       map[string][]byte
}

func newGenerator(w io.Writer, requests int, seed int64) *generator {
	g := &generator{
		r:        newRnd(seed, 0x61756469636961), // the request stream
		w:        bufio.NewWriterSize(w, 1<<20),
		now:      logStart,
		meanStep: logSpan / int64(max(requests, 1)),
		dayStart: -1,
		quotes:   map[string][]byte{},
	}
	g.c = newCluster(newRnd(seed, 0x636c7573746572)) // the cluster, independent of the request count
	if g.meanStep < 1 {
		g.meanStep = 1
	}
	return g
}

func (g *generator) request() {
	g.now += g.r.between(0, 2*g.meanStep)
	g.flushPending(g.now)
	g.r.uuid(&g.id)
	g.st.Requests++
	g.imp = nil

	roll := g.r.intn(1000)
	switch {
	case roll < 10:
		g.unauthenticated()
		return
	case roll < 55:
		g.nonResource(g.subject())
		return
	}
	s := g.subject()
	eff := s
	if g.r.chance(10) {
		// An administrator acting as a developer or a ServiceAccount.
		s = g.c.impersonators[g.r.intn(len(g.c.impersonators))]
		if g.r.intn(2) == 0 {
			eff = g.c.devs[g.r.intn(len(g.c.devs))]
		} else {
			eff = g.c.sas[g.r.intn(len(g.c.sas))]
		}
		g.imp = eff.impJSON
		g.st.Impersonated++
	}
	g.resourceRequest(s, eff, eff.pick(g.r))
}

// subject draws the authenticated user of a request.
func (g *generator) subject() *subject {
	switch x := g.r.intn(100); {
	case x < 40:
		return g.c.sas[g.r.skewed(len(g.c.sas))]
	case x < 52:
		return g.c.users[g.r.skewed(len(g.c.users))]
	case x < 88:
		return g.c.nodes[g.r.intn(len(g.c.nodes))]
	case x < 96:
		return g.c.controlPlane[0]
	case x < 99:
		return g.c.controlPlane[1]
	default:
		return g.c.controlPlane[2]
	}
}

var nonResourcePaths = []struct {
	path, binding string
}{
	{"/healthz", "system:public-info-viewer"},
	{"/readyz?verbose=1", "system:public-info-viewer"},
	{"/livez", "system:public-info-viewer"},
	{"/version", "system:public-info-viewer"},
	{"/version?timeout=32s", "system:public-info-viewer"},
	{"/metrics", ""},
	{"/openapi/v3?timeout=32s", "system:discovery"},
	{"/openapi/v2?timeout=32s", "system:discovery"},
	{"/apis", "system:discovery"},
	{"/apis?timeout=32s", "system:discovery"},
	{"/api?timeout=32s", "system:discovery"},
}

func (g *generator) nonResource(s *subject) {
	g.st.NonResource++
	p := nonResourcePaths[g.r.intn(len(nonResourcePaths))]
	g.verb = "get"
	g.user, g.agent, g.ip = s.userJSON, s.agentJSON, s.ip
	g.uri = jsonenc.AppendString(g.uri[:0], p.path)
	g.ref, g.refRR = g.ref[:0], g.refRR[:0]

	var reason string
	allowed := true
	switch {
	case s.masters || s.kind == kindNode || s.kind == kindControlPlane:
	case p.binding == "" && s.metrics:
		reason = "RBAC: allowed by ClusterRoleBinding \"metrics-reader\" of ClusterRole \"system:monitoring\" to Group \"system:authenticated\""
	case p.binding == "":
		allowed = false
	default:
		reason = "RBAC: allowed by ClusterRoleBinding \"" + p.binding + "\" of ClusterRole \"" + p.binding + "\" to Group \"system:authenticated\""
	}
	latency := g.r.between(300, 2500)
	if allowed {
		code := 200
		if p.binding == "system:discovery" && g.r.chance(300) {
			code = 304
		}
		g.status = appendOK(g.status[:0], code)
		g.ann = appendAnnotations(g.ann[:0], true, g.quotedOnce(reason), "", false)
		if p.binding == "" {
			latency = g.r.between(8000, 60000)
		}
	} else {
		g.st.Denied++
		path := p.path
		g.scratch = append(g.scratch[:0], `forbidden: User "`...)
		g.scratch = append(g.scratch, s.username...)
		g.scratch = append(g.scratch, `" cannot get path "`...)
		g.scratch = append(g.scratch, path...)
		g.scratch = append(g.scratch, '"')
		g.status = appendFailure(g.status[:0], string(g.scratch), "Forbidden", "", "", "", true, 403)
		g.ann = appendAnnotations(g.ann[:0], false, emptyReason, "", false)
	}
	g.emit(streamNone, false, latency)
}

// quotedOnce returns s as a JSON string, quoting each distinct s once.
func (g *generator) quotedOnce(s string) []byte {
	q, ok := g.quotes[s]
	if !ok {
		q = quoted(s)
		g.quotes[s] = q
	}
	return q
}

func (g *generator) unauthenticated() {
	g.st.Unauthenticated++
	s := g.c.sas[g.r.intn(len(g.c.sas))]
	a := s.pick(g.r)
	g.target(s, a)
	g.ref = append(g.ref[:0], g.refRR...)
	g.verb = a.verb
	g.user = anonymousUser
	g.agent = g.c.anonAgents[g.r.intn(len(g.c.anonAgents))]
	g.ip = "10.0." + strconv.Itoa(g.r.intn(4)) + "." + strconv.Itoa(2+g.r.intn(250))
	g.status = appendFailure(g.status[:0], "Unauthorized", "Unauthorized", "", "", "", false, 401)
	g.ann = g.ann[:0]
	ts := g.now + g.r.between(100, 600)
	g.write(stageResponseStarted, ts, true)
}

// targetInfo is where an action lands.
type targetInfo struct {
	ns     string // the namespace in the URL
	refNS  string // the namespace in objectRef (a Namespace is its own)
	name   string // the object name in the URL
	create bool   // a create on a collection: the request object names the object
}

// target fills the request URI and the RequestReceived objectRef of an
// action run as s.
func (g *generator) target(s *subject, a *action) targetInfo {
	res := a.res
	var t targetInfo
	switch a.scope {
	case scopeOwn:
		if s.kind == kindServiceAccount {
			t.ns = s.ns
		} else {
			t.ns = namespaces[g.r.intn(len(namespaces))]
		}
	case scopeAny:
		t.ns = namespaces[g.r.intn(len(namespaces))]
	case scopeSystem:
		t.ns = "kube-system"
	case scopeLease:
		t.ns = s.leaseNS
	}
	if !res.namespaced {
		t.ns = ""
	}
	collection := a.sub == "" && (a.verb == "list" || a.verb == "watch" || a.verb == "create" || a.verb == "deletecollection")
	t.create = collection && a.verb == "create"
	var selected string // a watch on one object by field selector
	switch {
	case a.scope == scopeLease:
		t.name = s.leaseName
	case a.scope == scopeSelf:
		t.name = s.nodeName
	case !collection:
		t.name = res.names[g.r.intn(len(res.names))]
	case a.verb == "watch" && (a.scope == scopeOwn || a.scope == scopeAny || a.scope == scopeSystem) &&
		!s.kubectl && (s.kind == kindNode || g.r.chance(100)):
		selected = res.names[g.r.intn(len(res.names))]
	}

	u := append(g.scratch[:0], res.prefix...)
	if t.ns != "" {
		u = append(u, "/namespaces/"...)
		u = append(u, t.ns...)
	}
	u = append(u, '/')
	u = append(u, res.plural...)
	if t.name != "" {
		u = append(u, '/')
		u = append(u, t.name...)
	}
	if a.sub != "" {
		u = append(u, '/')
		u = append(u, a.sub...)
	}
	u = g.appendQuery(u, s, a, t.name, selected)
	g.uri = jsonenc.AppendString(g.uri[:0], string(u))
	g.scratch = u

	t.refNS = t.ns
	if res.group == "" && res.plural == "namespaces" {
		t.refNS = t.name
	}
	refName := t.name
	if selected != "" {
		refName = selected
	}
	g.refRR = appendRef(g.refRR[:0], res, t.refNS, refName, "", "", a.sub)
	return t
}

// appendQuery appends the query a client of s's kind sends, and sets
// g.watchSeconds for watches that ask for a timeout.
func (g *generator) appendQuery(u []byte, s *subject, a *action, name, selected string) []byte {
	g.watchSeconds = 0
	switch a.verb {
	case "list":
		switch {
		case a.scope == scopeNode:
			u = append(u, "?fieldSelector=spec.nodeName%3D"...)
			u = append(u, s.nodeName...)
			u = append(u, "&limit=500&resourceVersion=0"...)
		case s.kubectl:
			u = append(u, "?limit=500"...)
		case g.r.chance(200):
			u = append(u, "?labelSelector=app.kubernetes.io%2Fname%3D"...)
			u = append(u, appWords[g.r.intn(len(appWords))]...)
		default:
			u = append(u, "?limit=500&resourceVersion=0"...)
		}
	case "watch":
		if s.kubectl {
			u = append(u, "?resourceVersion="...)
			u = strconv.AppendInt(u, g.r.between(100000, 9999999), 10)
			return append(u, "&watch=true"...)
		}
		u = append(u, "?allowWatchBookmarks=true"...)
		if a.scope == scopeNode {
			u = append(u, "&fieldSelector=spec.nodeName%3D"...)
			u = append(u, s.nodeName...)
		} else if selected != "" {
			u = append(u, "&fieldSelector=metadata.name%3D"...)
			u = append(u, selected...)
		}
		u = append(u, "&resourceVersion="...)
		u = strconv.AppendInt(u, g.r.between(100000, 9999999), 10)
		secs := g.r.between(300, 599)
		g.watchSeconds = secs
		u = append(u, "&timeout="...)
		u = strconv.AppendInt(u, secs/60, 10)
		u = append(u, 'm')
		u = strconv.AppendInt(u, secs%60, 10)
		u = append(u, "s&timeoutSeconds="...)
		u = strconv.AppendInt(u, secs, 10)
		u = append(u, "&watch=true"...)
	case "create":
		switch a.sub {
		case "exec":
			u = append(u, "?command=sh&container="...)
			u = append(u, containerOf(name)...)
			u = append(u, "&stdin=true&stdout=true&tty=true"...)
		case "":
			if s.kubectl {
				u = append(u, "?fieldManager=kubectl-create&fieldValidation=Strict"...)
			}
		}
	case "patch":
		switch {
		case s.kubectl:
			u = append(u, "?fieldManager=kubectl-patch"...)
		case s.kind == kindServiceAccount && g.r.chance(400):
			u = append(u, "?fieldManager="...)
			u = append(u, s.username[len("system:serviceaccount:"+s.ns+":"):]...)
			u = append(u, "&force=true"...)
		}
	case "get":
		if a.sub == "log" {
			u = append(u, "?container="...)
			u = append(u, containerOf(name)...)
			u = append(u, "&follow=true&tailLines="...)
			u = strconv.AppendInt(u, 100*g.r.between(1, 10), 10)
		}
	case "deletecollection":
		u = append(u, "?labelSelector=app.kubernetes.io%2Finstance%3D"...)
		u = append(u, appWords[g.r.intn(len(appWords))]...)
	}
	return u
}

// containerOf names a pod's main container after the pod's application.
func containerOf(pod string) string {
	for i := 0; i < len(pod); i++ {
		if pod[i] == '-' {
			return pod[:i]
		}
	}
	return pod
}

var (
	emptyReason   = []byte(`""`)
	anonymousUser = []byte(`{}`)
)

func (g *generator) resourceRequest(s, eff *subject, a *action) {
	t := g.target(eff, a)
	res := a.res
	g.verb = a.verb
	g.user, g.agent, g.ip = s.userJSON, s.agentJSON, s.ip

	stream := streamNone
	switch {
	case a.verb == "watch":
		stream = streamWatch
	case a.sub == "exec":
		stream = streamExec
	case a.sub == "log":
		stream = streamLog
	}

	if a.denied {
		g.st.Denied++
		// The message names whoever the request ran as.
		m := append(g.scratch[:0], res.qualified...)
		if t.name != "" {
			m = append(m, ' ')
			m = strconv.AppendQuote(m, t.name)
		}
		m = append(m, ` is forbidden: User "`...)
		m = append(m, eff.username...)
		m = append(m, `" cannot `...)
		m = append(m, a.verb...)
		m = append(m, ` resource "`...)
		m = append(m, res.plural...)
		if a.sub != "" {
			m = append(m, '/')
			m = append(m, a.sub...)
		}
		m = append(m, `" in API group "`...)
		m = append(m, res.group...)
		if t.ns != "" {
			m = append(m, `" in the namespace "`...)
			m = append(m, t.ns...)
			m = append(m, '"')
		} else {
			m = append(m, `" at the cluster scope`...)
		}
		g.scratch = m
		g.status = appendFailure(g.status[:0], string(m), "Forbidden", t.name, res.group, res.plural, true, 403)
		g.ann = appendAnnotations(g.ann[:0], false, emptyReason, "", false)
		g.ref = append(g.ref[:0], g.refRR...)
		g.emit(stream, true, g.r.between(200, 1200))
		return
	}

	// Allowed: the objectRef as the request object completes it, then the
	// outcome.
	code := 200
	failed := false
	latency := g.r.between(500, 6000)
	switch {
	case t.create:
		created := res.names[g.r.intn(len(res.names))]
		g.ref = appendRef(g.ref[:0], res, t.refNS, created, "", "", "")
		t.name = created
	case a.verb == "update":
		g.ref = appendRef(g.ref[:0], res, t.refNS, t.name, g.r.uuidString(),
			strconv.FormatInt(g.r.between(100000, 9999999), 10), a.sub)
	default:
		g.ref = append(g.ref[:0], g.refRR...)
	}
	switch a.verb {
	case "create":
		code = 201
		latency = g.r.between(2000, 20000)
		if t.create && g.r.chance(15) {
			code, failed = 409, true
			m := append(g.scratch[:0], res.qualified...)
			m = append(m, ' ')
			m = strconv.AppendQuote(m, t.name)
			m = append(m, " already exists"...)
			g.scratch = m
			g.status = appendFailure(g.status[:0], string(m), "AlreadyExists", t.name, res.group, res.plural, true, 409)
		}
	case "update":
		latency = g.r.between(2000, 15000)
		if g.r.chance(15) {
			code, failed = 409, true
			m := append(g.scratch[:0], "Operation cannot be fulfilled on "...)
			m = append(m, res.qualified...)
			m = append(m, ' ')
			m = strconv.AppendQuote(m, t.name)
			m = append(m, ": the object has been modified; please apply your changes to the latest version and try again"...)
			g.scratch = m
			g.status = appendFailure(g.status[:0], string(m), "Conflict", t.name, res.group, res.plural, true, 409)
		}
	case "patch":
		latency = g.r.between(1500, 12000)
	case "list":
		latency = g.r.between(1000, 80000)
	case "deletecollection":
		latency = g.r.between(5000, 40000)
	case "get", "delete":
		if t.name != "" && stream == streamNone && g.r.chance(20) {
			code, failed = 404, true
			m := append(g.scratch[:0], res.qualified...)
			m = append(m, ' ')
			m = strconv.AppendQuote(m, t.name)
			m = append(m, " not found"...)
			g.scratch = m
			g.status = appendFailure(g.status[:0], string(m), "NotFound", t.name, res.group, res.plural, true, 404)
		}
	}
	if res.group == "extensions" {
		// The group is long gone: authorized, then 404 with no Status body.
		code, failed = 404, true
		g.status = append(g.status[:0], `{"metadata":{},"code":404}`...)
	}
	if stream == streamExec {
		code = 101
	}
	if !failed {
		g.status = appendOK(g.status[:0], code)
	}

	issued := ""
	if a.sub == "token" && !failed {
		issued = "JTI=" + g.r.uuidString()
	}
	podSecurity := res.group == "" && res.plural == "pods" && t.create && !failed
	reason := a.reasonJSON
	if eff.masters {
		reason = emptyReason
	}
	g.ann = appendAnnotations(g.ann[:0], true, reason, issued, podSecurity)
	g.emit(stream, failed, latency)
}

// emit writes a request's events: perhaps RequestReceived, then
// ResponseStarted for long-running requests, then ResponseComplete, which is
// held back until its time when a stream stays open.
func (g *generator) emit(stream int, failed bool, latency int64) {
	received := g.now
	if g.r.chance(300) {
		g.write(stageRequestReceived, received, false)
	}
	if stream == streamNone {
		g.write(stageResponseComplete, received+latency, true)
		return
	}
	started := received + g.r.between(200, 8000)
	g.write(stageResponseStarted, started, true)
	if failed {
		g.write(stageResponseComplete, started+g.r.between(50, 500), true)
		return
	}
	var dur int64
	switch {
	case stream == streamWatch && g.watchSeconds > 0:
		dur = g.watchSeconds*1_000_000 + g.r.between(0, 5000)
	case stream == streamWatch:
		dur = g.r.between(5_000_000, 600_000_000)
	case stream == streamExec:
		dur = g.r.between(2_000_000, 600_000_000)
	default: // log
		dur = g.r.between(50_000, 30_000_000)
	}
	end := received + dur
	g.seq++
	heap.Push(&g.pending, pendingLine{ts: end, seq: g.seq, stage: stageResponseComplete,
		line: g.appendEvent(nil, stageResponseComplete, end, true)})
}

func (g *generator) flushPending(upTo int64) {
	for len(g.pending) > 0 && g.pending[0].ts <= upTo {
		p := heap.Pop(&g.pending).(pendingLine)
		g.put(p.stage, p.line)
	}
}

func (g *generator) write(stage int, ts int64, response bool) {
	g.line = g.appendEvent(g.line[:0], stage, ts, response)
	g.put(stage, g.line)
}

func (g *generator) put(stage int, line []byte) {
	if g.err != nil {
		return
	}
	if _, err := g.w.Write(line); err != nil {
		g.err = err
		return
	}
	g.st.Lines++
	g.st.Bytes += int64(len(line))
	switch stage {
	case stageRequestReceived:
		g.st.RequestReceived++
	case stageResponseStarted:
		g.st.ResponseStarted++
	default:
		g.st.ResponseComplete++
	}
}

// appendEvent appends one audit event line. response selects the response
// stages' fields (objectRef as filled in by the request object,
// responseStatus, annotations).
func (g *generator) appendEvent(b []byte, stage int, ts int64, response bool) []byte {
	b = append(b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"`...)
	b = append(b, g.id[:]...)
	b = append(b, `","stage":"`...)
	b = append(b, stageNames[stage]...)
	b = append(b, `","requestURI":`...)
	b = append(b, g.uri...)
	b = append(b, `,"verb":"`...)
	b = append(b, g.verb...)
	b = append(b, `","user":`...)
	b = append(b, g.user...)
	if g.imp != nil {
		b = append(b, `,"impersonatedUser":`...)
		b = append(b, g.imp...)
	}
	b = append(b, `,"sourceIPs":["`...)
	b = append(b, g.ip...)
	b = append(b, `"],"userAgent":`...)
	b = append(b, g.agent...)
	ref := g.refRR
	if response {
		ref = g.ref
	}
	if len(ref) > 0 {
		b = append(b, `,"objectRef":`...)
		b = append(b, ref...)
	}
	if response {
		b = append(b, `,"responseStatus":`...)
		b = append(b, g.status...)
	}
	b = append(b, `,"requestReceivedTimestamp":"`...)
	b = g.appendTime(b, g.now)
	b = append(b, `","stageTimestamp":"`...)
	b = g.appendTime(b, ts)
	b = append(b, '"')
	if response && len(g.ann) > 0 {
		b = append(b, `,"annotations":`...)
		b = append(b, g.ann...)
	}
	return append(b, '}', '\n')
}

// appendTime appends a time in microseconds since the epoch as
// metav1.MicroTime writes it: RFC 3339, six fractional digits, UTC.
func (g *generator) appendTime(b []byte, us int64) []byte {
	sec := us / 1_000_000
	day := sec / 86400
	if day != g.dayStart {
		g.dayStart = day
		g.dayPrefix = time.Unix(day*86400, 0).UTC().AppendFormat(g.dayPrefix[:0], "2006-01-02T")
	}
	b = append(b, g.dayPrefix...)
	s := sec % 86400
	b = append2(b, int(s/3600))
	b = append(b, ':')
	b = append2(b, int(s/60%60))
	b = append(b, ':')
	b = append2(b, int(s%60))
	b = append(b, '.')
	f := int(us % 1_000_000)
	b = append(b, byte('0'+f/100000), byte('0'+f/10000%10), byte('0'+f/1000%10), byte('0'+f/100%10), byte('0'+f/10%10), byte('0'+f%10), 'Z')
	return b
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

func appendOK(b []byte, code int) []byte {
	b = append(b, `{"metadata":{},"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	return append(b, '}')
}

// appendFailure appends a metav1.Status of a failed request.
func appendFailure(b []byte, message, reason, name, group, kind string, details bool, code int) []byte {
	b = append(b, `{"metadata":{},"status":"Failure","message":`...)
	b = jsonenc.AppendString(b, message)
	b = append(b, `,"reason":"`...)
	b = append(b, reason...)
	b = append(b, '"')
	if details {
		b = append(b, `,"details":{`...)
		sep := false
		for _, kv := range [...][2]string{{"name", name}, {"group", group}, {"kind", kind}} {
			if kv[1] == "" {
				continue
			}
			if sep {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, kv[0]...)
			b = append(b, `":`...)
			b = jsonenc.AppendString(b, kv[1])
			sep = true
		}
		b = append(b, '}')
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	return append(b, '}')
}

// appendRef appends an audit ObjectReference.
func appendRef(b []byte, res *resource, ns, name, uid, rv, sub string) []byte {
	b = append(b, `{"resource":"`...)
	b = append(b, res.plural...)
	b = append(b, '"')
	if ns != "" {
		b = append(b, `,"namespace":"`...)
		b = append(b, ns...)
		b = append(b, '"')
	}
	if name != "" {
		b = append(b, `,"name":`...)
		b = jsonenc.AppendString(b, name)
	}
	if uid != "" {
		b = append(b, `,"uid":"`...)
		b = append(b, uid...)
		b = append(b, '"')
	}
	if res.group != "" {
		b = append(b, `,"apiGroup":"`...)
		b = append(b, res.group...)
		b = append(b, '"')
	}
	b = append(b, `,"apiVersion":"`...)
	b = append(b, res.version...)
	b = append(b, '"')
	if rv != "" {
		b = append(b, `,"resourceVersion":"`...)
		b = append(b, rv...)
		b = append(b, '"')
	}
	if sub != "" {
		b = append(b, `,"subresource":"`...)
		b = append(b, sub...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendAnnotations appends the annotations map, keys in sorted order.
func appendAnnotations(b []byte, allow bool, reasonJSON []byte, issuedCredential string, podSecurity bool) []byte {
	b = append(b, '{')
	if issuedCredential != "" {
		b = append(b, `"authentication.kubernetes.io/issued-credential-id":`...)
		b = jsonenc.AppendString(b, issuedCredential)
		b = append(b, ',')
	}
	if allow {
		b = append(b, `"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":`...)
	} else {
		b = append(b, `"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":`...)
	}
	b = append(b, reasonJSON...)
	if podSecurity {
		b = append(b, `,"pod-security.kubernetes.io/enforce-policy":"restricted:latest"`...)
	}
	return append(b, '}')
}

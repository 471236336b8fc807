// Package bench owns Audicia's end-to-end performance measurement: a
// deterministic generator of synthetic kube-apiserver audit logs
// (audit.k8s.io/v1 JSON lines at Metadata level, shaped field for field like
// a real API server's, with a realistic mix of ServiceAccounts, users and
// control-plane components, denials, unauthenticated and impersonated
// requests, split request stages and long-running watches and exec
// sessions), a cache that writes such a log once per size and seed and
// reuses it, and BenchmarkAnalyze, which times `audicia analyze -o json` on
// that log and reports requests/s, MB/s and peak RSS. `make bench` runs it
// on 1,000,000 requests.
package bench

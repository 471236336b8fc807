// Package controller holds the operator's reconcilers and what they run. The
// AudiciaSource reconciler keeps one runner per source (started, restarted on
// spec change, stopped on delete) and reports its state in conditions; a
// runner owns a source's pipeline: it ingests the audit log or webhook, writes
// the AudiciaPolicyReports when their content changes (counts in batches),
// scores them against live RBAC, and writes the checkpoint only after the
// reports it covers. The PolicyReport reconciler mirrors the reports into the
// standard wgpolicyk8s.io reports where that API is served.
package controller

// Package cli holds the commands of the `audicia` binary (also run as the
// kubectl plugin `kubectl-audicia`): flag parsing, reading inputs, and
// printing what the pipeline and the policy packages compute. cmd/audicia only
// wires it to the process.
package cli

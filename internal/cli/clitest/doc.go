// Package clitest runs the cluster commands of the audicia CLI (`kubectl
// audicia get`, `export` and `explain`) against a real kube-apiserver and
// etcd (envtest), on reports built from a real audit log by the pipeline and
// policy packages. The commands themselves live in internal/cli.
package clitest

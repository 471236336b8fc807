// Package clitest tests the kubectl plugin commands of internal/cli (get,
// export, explain) against a real kube-apiserver: reports built from a real
// audit log, and exported YAML checked with a server-side dry run.
package clitest

// Package e2e tests Audicia end to end: a real kube-apiserver (and etcd)
// writes its audit log to a file and sends it to the operator's webhook over
// mutual TLS; the operator runs as a process of its own, is killed and
// restarted, and its reports are checked against the requests the tests made.
package e2e

// Package cluster runs a local Kubernetes control plane for the end-to-end
// tests and `make demo`: etcd and a real kube-apiserver that writes its audit
// log to a file and sends it to the operator's webhook over mutual TLS, and
// the operator as a process of its own. The binaries come from
// KUBEBUILDER_ASSETS (hack/control-plane.sh builds them).
package cluster

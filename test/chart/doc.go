// Package chart tests the Helm chart in charts/audicia with Helm's own
// renderer (hack/helm.sh builds and caches helm): golden files of `helm
// template` for the main value combinations, the rendered objects decoded
// strictly as Kubernetes objects and accepted by a real kube-apiserver, the
// chart's RBAC held to the rules generated from the controllers' markers, the
// values table of the chart's README, and the Dockerfile's build context.
package chart

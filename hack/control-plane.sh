#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the Go module proxy and caches
# them by version, so envtest, the e2e test and `make demo` run a real control
# plane on a machine that can reach nothing but the proxy.
#
# Usage: hack/control-plane.sh        builds what is missing, prints the directory
#
# The binaries land in $AUDICIA_ASSETS (default: $(go env GOPATH)/audicia-assets/
# k8s-<version>-etcd-<version>); point KUBEBUILDER_ASSETS at it. The first run takes
# 6-12 minutes on two cores (kube-apiserver is large); later runs return at once.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
# Staging modules are published as v0.<minor>.<patch> beside k8s.io/kubernetes v1.<minor>.<patch>.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"

GO="${GO:-go}"
ASSETS="${AUDICIA_ASSETS:-$("$GO" env GOPATH)/audicia-assets/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}}"

log() { echo "control-plane: $*" >&2; }

have_all() {
  for bin in kube-apiserver kubectl etcd; do
    [[ -f "$ASSETS/$bin" && -x "$ASSETS/$bin" ]] || return 1
  done
}

if have_all; then
  echo "$ASSETS"
  exit 0
fi

mkdir -p "$ASSETS"
# One build at a time per cache; a second caller waits and finds the binaries.
if command -v flock >/dev/null; then
  exec 9>"$ASSETS/.lock"
  flock 9
  if have_all; then
    echo "$ASSETS"
    exit 0
  fi
fi
# Binaries are built beside the cache and renamed into it, so that an
# interrupted build never leaves a partial binary that looks finished.
work="$(mktemp -d "$ASSETS/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT

build_kubernetes() {
  # k8s.io/kubernetes replaces its staging modules with ./staging paths, which the
  # proxy's zip does not resolve from outside; a wrapper module that points each of
  # them at its published version builds the commands unchanged.
  local dir="$work/src/kubernetes"
  mkdir -p "$dir"
  local gomod
  gomod="$("$GO" mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module audicia.local/control-plane"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    echo
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" |
      awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  local ldflags="-s -w"
  local major="${KUBE_VERSION#v}"; major="${major%%.*}"
  local minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  done
  log "building kube-apiserver and kubectl ${KUBE_VERSION} (first run: 6-12 minutes)"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" \
    -o "$work/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  mv "$work/bin/kube-apiserver" "$work/bin/kubectl" "$ASSETS/"
}

build_etcd() {
  local dir="$work/src/etcd"
  mkdir -p "$dir"
  printf 'module audicia.local/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  log "building etcd ${ETCD_VERSION}"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" \
    -o "$work/bin/etcd" go.etcd.io/etcd/server/v3)
  mv "$work/bin/etcd" "$ASSETS/etcd"
}

mkdir -p "$work/bin"
[[ -f "$ASSETS/etcd" ]] || build_etcd
[[ -f "$ASSETS/kube-apiserver" && -f "$ASSETS/kubectl" ]] || build_kubernetes

have_all || { log "build finished but binaries are missing in $ASSETS"; exit 1; }
log "ready in $ASSETS"
echo "$ASSETS"

#!/usr/bin/env bash
# Builds helm from the Go module proxy and caches it by version, so `make helm-lint`
# and the chart's golden tests run Helm's own renderer on a machine that can reach
# nothing but the proxy.
#
# Usage: hack/helm.sh        builds helm if it is missing, prints the binary's path
#
# The binary lands in $AUDICIA_HELM_DIR (default: $(go env GOPATH)/audicia-assets/
# helm-<version>). The first run takes about 3 minutes; later runs return at once.
# Concurrent first runs (parallel test packages, make) are serialised by a lock.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The Kubernetes version helm assumes offline (`helm template`, `helm lint`) comes
# from link-time flags, as helm's own Makefile sets them from its client-go
# (v0.37 -> 1.37); without them it would assume v1.20.
HELM_KUBE_MAJOR="${HELM_KUBE_MAJOR:-1}"
HELM_KUBE_MINOR="${HELM_KUBE_MINOR:-37}"

GO="${GO:-go}"
DIR="${AUDICIA_HELM_DIR:-$("$GO" env GOPATH)/audicia-assets/helm-${HELM_VERSION}}"
HELM="$DIR/helm"

log() { echo "helm: $*" >&2; }

if [[ -x "$HELM" ]]; then
  echo "$HELM"
  exit 0
fi

mkdir -p "$DIR"
build() {
  if [[ -x "$HELM" ]]; then
    return 0 # another run built it while this one waited for the lock
  fi
  # Beside the destination, so the final mv is a rename on one file system.
  work="$(mktemp -d "$DIR/.build.XXXXXX")"
  trap 'rm -rf "${work:-}"' EXIT
  log "building helm ${HELM_VERSION} from the Go module proxy (first run: about 3 minutes)"
  # go install into a private GOBIN, then move into place, so a half-written binary
  # is never seen at $HELM.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X ${pkg}.k8sVersionMajor=${HELM_KUBE_MAJOR} -X ${pkg}.k8sVersionMinor=${HELM_KUBE_MINOR}"
  done
  GOBIN="$work" CGO_ENABLED=0 GOFLAGS=-mod=mod "$GO" install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
  mv "$work/helm" "$HELM"
  rm -rf "$work"
}

if command -v flock >/dev/null; then
  exec 9>"$DIR/.lock"
  flock 9
  build
else
  build
fi

[[ -x "$HELM" ]] || { log "build finished but $HELM is missing"; exit 1; }
log "ready: $HELM"
echo "$HELM"

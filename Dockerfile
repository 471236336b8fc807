# syntax=docker/dockerfile:1
# The Audicia image: the operator (/manager, the entrypoint) and the CLI
# (/audicia, also usable as the kubectl plugin kubectl-audicia), static
# binaries on distroless, running as the nonroot user.
#
#   make docker-build IMG=ghcr.io/audicia/audicia:dev

# The builder runs on the build machine's platform and cross-compiles for the
# target (docker buildx --platform linux/amd64,linux/arm64).
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src

# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/

RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/manager ./cmd/audicia

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="audicia" \
      org.opencontainers.image.description="Turns Kubernetes audit logs into least-privilege RBAC" \
      org.opencontainers.image.source="https://github.com/audicia/audicia" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/manager /manager
COPY --from=builder /out/audicia /audicia
USER 65532:65532
ENTRYPOINT ["/manager"]

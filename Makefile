# Audicia: turn Kubernetes audit logs into least-privilege RBAC.

# Tools are pinned and installed into ./bin.
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_TOOLS_VERSION ?= v0.23.0
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)

GO ?= go
# The race detector needs cgo; without a C compiler the tests run without it.
GOFLAGS_TEST ?= $(shell command -v gcc >/dev/null && echo -race)
BENCH_REQUESTS ?= 1000000

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: controller-gen ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: controller-gen ## Generate CRDs (config/crd/bases, copied into the Helm chart) and the operator's RBAC (config/rbac).
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=audicia-operator paths=./internal/controller/... output:rbac:artifacts:config=config/rbac
	$(MAKE) --no-print-directory chart-rbac
	mkdir -p charts/audicia/crds
	rm -f charts/audicia/crds/*.yaml
	cp config/crd/bases/*.yaml charts/audicia/crds/

.PHONY: fmt
fmt: ## Run go fmt.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: test
test: vet control-plane ## Run all tests: unit, golden, envtest (real kube-apiserver and etcd) and e2e.
	KUBEBUILDER_ASSETS="$$(hack/control-plane.sh)" $(GO) test $(GOFLAGS_TEST) -timeout 20m $$($(GO) list ./... | grep -v '/test/')
	@# The suites under test/ build the binaries they run with go build, which
	@# go test's cache does not see: they always run.
	KUBEBUILDER_ASSETS="$$(hack/control-plane.sh)" $(GO) test $(GOFLAGS_TEST) -count=1 -timeout 20m ./test/...

.PHONY: control-plane
control-plane: ## Build and cache kube-apiserver, kubectl and etcd from the Go module proxy (first run: minutes).
	@hack/control-plane.sh >/dev/null

.PHONY: verify
verify: generate manifests fmt ## Regenerate and fail if generated or formatted files drift from git.
	@if [ -n "$$(git status --porcelain -- api config charts)" ] || ! git diff --quiet; then \
		echo "generated or formatted files are out of date; run 'make generate manifests fmt' and commit:"; \
		git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

.PHONY: bench
bench: build ## Benchmark: decoder and pipeline micro-benchmarks, then `audicia analyze` on a synthetic log of BENCH_REQUESTS requests.
	$(GO) test -run '^$$' -bench . -benchmem ./internal/audit/ ./internal/pipeline/
	AUDICIA_BIN=$(LOCALBIN)/audicia BENCH_REQUESTS=$(BENCH_REQUESTS) $(GO) test -run '^$$' -bench BenchmarkAnalyze -benchtime 1x -timeout 30m ./test/bench/

##@ Demo

.PHONY: demo
demo: build control-plane ## A local control plane with audit logging, the operator, some traffic, and the reports printed.
	KUBEBUILDER_ASSETS="$$(hack/control-plane.sh)" $(GO) run ./hack/demo --operator $(LOCALBIN)/manager $(DEMO_ARGS)

##@ Build

.PHONY: build
build: ## Build the audicia CLI (also as the kubectl plugin kubectl-audicia) and the operator (manager) into ./bin.
	$(GO) build -o $(LOCALBIN)/audicia ./cmd/audicia
	cp $(LOCALBIN)/audicia $(LOCALBIN)/kubectl-audicia
	$(GO) build -o $(LOCALBIN)/manager ./cmd/manager

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into ./bin.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

##@ Chart and image

# The image `make docker-build` builds; the chart's image.repository and tag.
IMG ?= ghcr.io/audicia/audicia:dev
# docker or podman; empty picks the first whose engine answers.
CONTAINER_TOOL ?=

.PHONY: chart-rbac
chart-rbac: ## Copy the operator's generated RBAC (config/rbac/role.yaml) into the chart (charts/audicia/files/rbac.yaml).
	mkdir -p charts/audicia/files
	cp config/rbac/role.yaml charts/audicia/files/rbac.yaml

.PHONY: helm
helm: ## Build and cache helm from the Go module proxy (first run: ~3 minutes).
	@hack/helm.sh >/dev/null

.PHONY: helm-lint
helm-lint: helm ## helm lint --strict the chart in file and webhook mode.
	"$$(hack/helm.sh)" lint --strict charts/audicia
	"$$(hack/helm.sh)" lint --strict charts/audicia --set mode=webhook
	"$$(hack/helm.sh)" lint --strict charts/audicia --set mode=webhook --set webhook.certManager.enabled=true --set replicaCount=2

.PHONY: chart-test
chart-test: helm control-plane ## Chart tests: helm lint, helm template goldens (UPDATE=1 rewrites them), RBAC drift, manifests checked by a real API server.
	KUBEBUILDER_ASSETS="$$(hack/control-plane.sh)" $(GO) test -count=1 ./test/chart/ $(if $(UPDATE),-args -update)

.PHONY: docker-build
docker-build: ## Build the image $(IMG) with docker or podman; fails clearly when no container engine runs.
	@tool="$(CONTAINER_TOOL)"; \
	if [ -z "$$tool" ]; then \
		for t in docker podman; do \
			if command -v $$t >/dev/null 2>&1 && $$t info >/dev/null 2>&1; then tool=$$t; break; fi; \
		done; \
	elif ! $$tool info >/dev/null 2>&1; then tool=""; fi; \
	if [ -z "$$tool" ]; then \
		echo "docker-build: no container engine is running: '$${CONTAINER_TOOL:-docker} info' and 'podman info' failed." >&2; \
		echo "docker-build: start Docker or Podman (or set CONTAINER_TOOL) and run 'make docker-build IMG=$(IMG)' again." >&2; \
		exit 1; \
	fi; \
	echo "$$tool build -t $(IMG) ."; \
	$$tool build -t $(IMG) .

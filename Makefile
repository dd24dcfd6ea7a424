# Newsroom developer commands. `make up` and `make test` work on a fresh machine:
# they bootstrap uv into .tools/, the locked environment into .venv/, and the
# Kafka jars into .cache/ (all ignored by git) before doing anything else.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(CURDIR)/.tools/bin/uv
VENV := $(CURDIR)/.venv
PYTEST_ARGS ?=

.PHONY: up down test lint fmt env clean bench-views bench chaos audit realworld

$(UV):
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --frozen --all-packages --quiet
	touch $@

env: $(VENV)/.synced

up: env
	$(VENV)/bin/newsroom-stack up

down: env
	$(VENV)/bin/newsroom-stack down

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

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
	$(VENV)/bin/python services/views/scripts/bench_on_devstack.py $(BENCH_ARGS)

# Fault scenarios under load on a private stack, two instances per service (tests/chaos).
chaos: env
	$(VENV)/bin/newsroom-stack prepare
	$(VENV)/bin/python -m tests.chaos $(CHAOS_ARGS)

# The official RealWorld API suite (its Postman collection, run by newman from npm) against a
# private stack. The collection is the RealWorld project's file, not kept here: name it, e.g.
# make realworld COLLECTION=../realworld/api/Conduit.postman_collection.json
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

clean:
	rm -rf $(VENV) $(CURDIR)/.tools $(CURDIR)/var

# The project's entry points. Everything runs through uv and the lock file (uv.lock).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: help tools deps-py deps demo test test-unit test-jobs test-integration test-contract \
	test-manifests lint scan bench render manifests docs up down cluster-build cluster-test cluster-test-tls cluster-test-upgrade test-faults mutation clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

tools: ## install uv when it is missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.13,<0.14"

deps-py: tools ## Python deps from uv.lock (enough for lint, unit and manifest tests: no JDK, no Go)
	$(UV) sync --frozen

deps: deps-py ## also the Spark jars and the MinIO binary (cached; needs a JDK and Go)
	$(RUN) lakehouse prepare

demo: deps ## run bronze -> silver -> gold on this machine and print gold
	$(RUN) lakehouse demo

test: deps ## every test but the heavy suites: unit, jobs, integration, contract, manifests
	$(RUN) pytest -p no:cacheprovider --durations=25

test-unit: deps-py ## seconds; no JDK, no Go, no services
	$(RUN) pytest -p no:cacheprovider tests/unit tests/manifests

test-jobs: deps ## the jobs on local Spark without S3: validation, MERGE, gold builds (< 1 min)
	$(RUN) pytest -p no:cacheprovider tests/jobs

test-integration: deps ## real Spark, Delta and a MinIO process
	$(RUN) pytest -p no:cacheprovider tests/integration

test-contract: deps ## the Dremio client against the Dremio double over a real MinIO
	$(RUN) pytest -p no:cacheprovider tests/contract

test-manifests: deps-py ## render both stacks and validate every object
	$(RUN) pytest -p no:cacheprovider tests/manifests

lint: deps-py ## ruff, mypy --strict, import contracts, shellcheck, the scanners (make scan)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports
	$(RUN) shellcheck scripts/*.sh testbed/images/*/*.sh
	$(MAKE) scan

scan: deps-py ## kube-score and checkov over both stacks' objects (scan-allowlist.yaml: accepted findings)
	$(RUN) python scripts/scan.py

mutation: deps-py ## mutmut over lakehouse_core with the unit tests: bench/mutation.json (docs/testing.md)
	$(RUN) python scripts/mutation.py

bench: deps ## benchmarks (not tests): writes bench/results.json and bench/results.png
	$(RUN) python -m bench.run

render: deps-py ## write every Kubernetes object of both stacks to out/<stack>
	$(RUN) lakehouse render --stack dev
	$(RUN) lakehouse render --stack prod

manifests: deps-py ## regenerate spark-apps/manifests/ from the pipeline definition
	$(RUN) lakehouse manifests --write

docs: deps-py ## regenerate docs/configuration.md from the stack settings models
	$(RUN) python -m lakehouse.reference

up: deps ## kind cluster, images, pulumi up (dev), pipeline, first query (needs Docker)
	scripts/e2e-kind.sh up

down: ## delete the kind cluster (and the local Pulumi state of the dev stack)
	scripts/e2e-kind.sh down

cluster-build: deps ## build the local cluster's programs and images once (root; ~1.5 h, cached)
	$(RUN) lakehouse-bed build

cluster-test: cluster-build ## the dev stack on a real local Kubernetes, nothing to query to nothing
	$(RUN) pytest -p no:cacheprovider -m cluster tests/cluster -s

cluster-test-upgrade: cluster-build ## the previous release on the bed, then `lakehouse up` from this checkout over it
	$(RUN) pytest -p no:cacheprovider -m upgrade tests/cluster -s

cluster-test-tls: cluster-build ## the same journey with TLS inside the cluster (as prod deploys it)
	LAKEHOUSE_BED_TLS=1 $(RUN) pytest -p no:cacheprovider -m cluster tests/cluster -s

test-faults: deps ## storage and driver faults injected into real runs; writes bench/faults.json
	$(RUN) pytest -p no:cacheprovider -m faults tests/faults

clean: ## remove build output (not the caches)
	rm -rf out build dist .pytest_cache .mypy_cache .ruff_cache

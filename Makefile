# The project's entry points. Everything runs through uv and the lock file (uv.lock).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: help tools deps demo test test-unit test-integration test-manifests lint bench render manifests up down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

tools: ## install uv when it is missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.13,<0.14"

deps: tools ## Python deps from uv.lock, the Spark jars, the MinIO binary (cached)
	$(UV) sync --frozen
	$(RUN) lakehouse prepare

demo: deps ## run bronze -> silver -> gold on this machine and print gold
	$(RUN) lakehouse demo

test: deps ## every test: unit, integration (real Spark/Delta/MinIO) and manifests
	$(RUN) pytest -p no:cacheprovider

test-unit: deps ## fast tests without services
	$(RUN) pytest -p no:cacheprovider tests/unit

test-integration: deps ## tests on real Spark, Delta and a MinIO process
	$(RUN) pytest -p no:cacheprovider tests/integration

test-manifests: deps ## render both stacks and validate every object
	$(RUN) pytest -p no:cacheprovider tests/manifests

lint: deps ## ruff and mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

bench: deps ## benchmarks (not tests): writes bench/results.json
	$(RUN) python -m bench.run

render: deps ## write every Kubernetes object of the dev stack to out/dev
	$(RUN) lakehouse render --stack dev --out out/dev

manifests: deps ## regenerate spark-apps/manifests/ from the pipeline definition
	$(RUN) lakehouse manifests --write

up: deps ## kind cluster, job image, pulumi up (dev), pipeline, first query
	scripts/e2e-kind.sh up

down: ## delete the kind cluster (and the local Pulumi state of the dev stack)
	scripts/e2e-kind.sh down

clean: ## remove build output (not the caches)
	rm -rf out build dist .pytest_cache .mypy_cache .ruff_cache

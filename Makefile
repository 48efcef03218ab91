# Everything installs inside these targets: only Python 3.11 and make are assumed.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UI_PORT ?= 3000
# The suite runs on this many pytest-xdist workers, a test file per worker at a time (its
# module fixtures, a built lake or a server, are built once); CI's machine has 2 cores.
TEST_WORKERS ?= 2

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui lint samples bench eval publish mirror install clean dagster-home browser postgres

demo: install dagster-home
	$(BIN)/python -m orchestration.demo

test: install browser postgres
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

ui: install dagster-home
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

samples: install
	$(BIN)/python -m sources.fixtures

# Performance benchmark (bench/, results in docs/performance.md); not part of `make test`.
# Quick run at 10 % scale by default; BENCH_ARGS="--scale 1.0" for the full-size corpus.
# The real-text corpus (--text real) draws on the `bench` dependency group (ShareGPT).
bench: install
	$(UV) sync --frozen --group bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Quality of the text engines on data this project did not generate (evaluation/, vendored
# labelled sets; results in docs/quality.md); not part of `make test`. A few minutes.
eval: install
	$(BIN)/python -m evaluation.run

# Push a release folder to the Hugging Face Hub (private; HF_TOKEN): make publish
# TAG=<tag> REPO=<org>/<name> [DRY_RUN=1] (orchestration/publish.py).
publish: install
	$(BIN)/python -m orchestration.publish $(TAG) $(REPO) $(if $(DRY_RUN),--dry-run)

# Fetch the catalogue's files at their pinned revisions into a Hub-layout mirror
# (HF_TOKEN for gated datasets): make mirror [MIRROR=<dir>] [DATASETS=a,b]; then
# LAKE_SOURCES=<dir> make demo runs offline (orchestration/mirror.py).
mirror: install
	$(BIN)/python -m orchestration.mirror $(if $(MIRROR),--to $(MIRROR)) $(if $(DATASETS),--datasets $(DATASETS))

install: $(VENV)/.synced

# Debian's Chromium for the UI test (tests/e2e/test_ui.py); skipped there if absent.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium could not be installed: the UI test will be skipped"

# Debian's PostgreSQL server for tests/scale/test_postgres_instance.py, which starts its own
# throwaway cluster (skipped there if absent). No default cluster is created or started.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { mkdir -p /etc/postgresql-common && \
	    { test -f /etc/postgresql-common/createcluster.conf || \
	      echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; } && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 \
	    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
	      postgresql >/dev/null; } || \
	  echo "postgresql could not be installed: the PostgreSQL instance test will be skipped"

# A local instance for run history; telemetry and the welcome pop-up off (runs offline).
dagster-home:
	@mkdir -p "$(DAGSTER_HOME)"
	@test -f "$(DAGSTER_HOME)/dagster.yaml" || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > "$(DAGSTER_HOME)/dagster.yaml"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

clean:
	rm -rf lake .dagster_home artifacts

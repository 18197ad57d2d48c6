# tenantflow — developer entry points. Everything installs into ./.venv from pinned requirements.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint lock clean

install: $(STAMP)

# requirements-dev.txt is self-contained (the runtime pins plus the test tools, every line hashed); the
# editable install is a step of its own because pip refuses editable requirements when checking hashes.
$(STAMP): requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11, 7) <= sys.version_info[:3] < (3, 12), f"Python 3.11, 3.11.7 or later (the lock is resolved for it) required, found {sys.version}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: install  ## run the platform locally: http://localhost:8080 (Ctrl-C stops everything)
	$(BIN)/python -m demo.launcher

test: install  ## run the test suite
	$(BIN)/python -m pytest

bench: install  ## benchmarks (prints JSON lines with ratios against baselines measured in the same run)
	$(BIN)/python -m benchmarks.parse_bench
	$(BIN)/python -m benchmarks.merge_bench
	$(BIN)/python -m benchmarks.ingest_bench
	$(BIN)/python -m benchmarks.sql_ingest_bench --source mysql
	$(BIN)/python -m benchmarks.sql_ingest_bench --source sqlite
	$(BIN)/python -m benchmarks.sql_ingest_bench --source postgres --partitions 4
	$(BIN)/python -m benchmarks.quality_bench
	$(BIN)/python -m benchmarks.quality_bench --source parquet --shuffled-keys
	$(BIN)/python -m benchmarks.transform_bench
	$(BIN)/python -m benchmarks.transform_bench --engine spark
	$(BIN)/python -m benchmarks.state_bench
	$(BIN)/python -m benchmarks.maintenance_bench
	$(BIN)/python -m benchmarks.dashboard_bench
	$(BIN)/python -m benchmarks.cdc_bench
	$(BIN)/python -m benchmarks.queue_bench

lint: install
	$(BIN)/python -m ruff check include demo tests dags plugins benchmarks

# The lock: pyproject.toml (dependencies, the celery/postgres extras, the dev group) resolved by a pinned uv
# into fully pinned, hashed files. Everything that decides the output is here or in pyproject.toml: the
# target interpreter and platform, and a cut-off date (files uploaded later, even a new wheel of a pinned
# release, are invisible), so the same inputs give byte-identical files. Existing pins are kept (uv prefers
# the versions already in the output file); to move one: `make lock LOCK_ARGS="--upgrade-package NAME"`
# after moving LOCK_CUTOFF forward. requirements.txt (the image: helm-values deploys CeleryExecutor on a
# PostgreSQL metadata DB) = dependencies + celery + postgres; requirements-dev.txt = all extras + the dev
# group, constrained to requirements.txt so tests run on exactly the runtime's versions.
UV_VERSION := 0.13.9
LOCK_CUTOFF := 2026-12-03T00:00:00Z
LOCK_TOOL := build/lock-tool
LOCK_ARGS ?=
LOCK_FLAGS := --quiet --no-config --generate-hashes --python-version 3.11.7 \
	--python-platform x86_64-unknown-linux-gnu --exclude-newer $(LOCK_CUTOFF) --custom-compile-command "make lock"

lock:  ## re-resolve requirements.txt and requirements-dev.txt (hashed pins) from pyproject.toml
	rm -rf $(LOCK_TOOL) && $(PYTHON) -m venv $(LOCK_TOOL)
	$(LOCK_TOOL)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(LOCK_TOOL)/bin/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) pyproject.toml --extra celery --extra postgres \
		-o requirements.txt
	$(LOCK_TOOL)/bin/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) pyproject.toml --all-extras \
		--group pyproject.toml:dev -c requirements.txt -o requirements-dev.txt
	rm -rf $(LOCK_TOOL)

clean:
	rm -rf $(VENV) .tenantflow .pytest_cache

# tenantflow — developer entry points. Everything installs into ./.venv from pinned requirements.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint lock clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 required, found {sys.version}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: install  ## run the platform locally: http://localhost:8080 (Ctrl-C stops everything)
	$(BIN)/python -m tenantflow.demo.launcher

test: install  ## run the test suite
	$(BIN)/python -m pytest

bench: install  ## benchmarks (prints JSON lines with ratios against baselines measured in the same run)
	$(BIN)/python -m benchmarks.parse_bench
	$(BIN)/python -m benchmarks.merge_bench
	$(BIN)/python -m benchmarks.ingest_bench
	$(BIN)/python -m benchmarks.quality_bench
	$(BIN)/python -m benchmarks.quality_bench --source parquet --shuffled-keys
	$(BIN)/python -m benchmarks.transform_bench
	$(BIN)/python -m benchmarks.state_bench
	$(BIN)/python -m benchmarks.maintenance_bench

lint: install
	$(BIN)/python -m ruff check include tests dags plugins benchmarks

lock:  ## re-resolve the pinned requirements from pyproject's direct dependencies
	rm -rf /tmp/tenantflow-lock && $(PYTHON) -m venv /tmp/tenantflow-lock
	/tmp/tenantflow-lock/bin/pip install --quiet . && /tmp/tenantflow-lock/bin/pip freeze --exclude tenantflow

clean:
	rm -rf $(VENV) .tenantflow .pytest_cache

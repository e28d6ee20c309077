# Warden developer commands. Each target does its own set-up on a fresh machine.
#   make demo   - the offline end-to-end demo (emulator + Azurite + devhost)
#   make test   - the whole test suite: ruff, mypy, pytest (all tiers)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit functional e2e browser bench setup tools clean serve audit reliability

setup: $(STAMP) node_modules/.installed

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; Warden needs Python 3.11" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

node_modules/.installed: package.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20 (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

# checkov (Bicep scanning) lives in its own venv: its pinned dependencies clash with the app's.
tools:
	PYTHON=$(PYTHON) bash scripts/tools-venv.sh

demo: setup
	$(VENV)/bin/warden demo

serve: setup
	$(VENV)/bin/warden serve

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy .

test: setup tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/bandit -q -c pyproject.toml -r shared handlers devhost emulator cli bench function_app.py
	bash scripts/ensure-chromium.sh
	rm -rf .warden/test-logs
	WARDEN_TEST_LOG_DIR=$(CURDIR)/.warden/test-logs $(VENV)/bin/pytest -n 2 --dist worksteal tests
	WARDEN_TEST_LOG_DIR=$(CURDIR)/.warden/test-logs $(VENV)/bin/pytest -m logscan tests/logscan

unit: setup tools
	$(VENV)/bin/pytest tests/unit

functional: setup
	$(VENV)/bin/pytest tests/functional

browser: setup
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/pytest -m browser tests/browser

bench: setup
	$(PY) -m bench

# The reliability suite alone, with a seed of your choice (make reliability SEED=7), e.g. nightly.
reliability: setup
	WARDEN_RELIABILITY_SEED=$${SEED:-20261125} $(VENV)/bin/pytest tests/reliability -s

# pip-audit of .venv and .venv-tools, strict (a package it could not check is an error). Needs
# PyPI's JSON API or api.osv.dev, which a mirror-only machine does not reach: not part of `test`.
audit: setup tools
	PYTHON=$(PYTHON) bash scripts/audit-deps.sh

clean:
	rm -rf $(VENV) .venv-tools .venv-audit node_modules .mypy_cache .ruff_cache .pytest_cache .warden

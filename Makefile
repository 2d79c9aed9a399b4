# cvewatch — set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup system-deps postgres demo test test-fast lint format bench clean otava-env otava-compare

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian tools the tests use as oracles and validators (never needed by the product at run time).
system-deps:
	@bash scripts/system-deps.sh

postgres:
	@bash scripts/ensure-postgres.sh

demo: setup
	$(VENV)/bin/cvewatch demo --out demo-out

test: setup system-deps postgres lint
	$(PY) -m pytest -n 2 -q

test-fast: setup
	$(PY) -m pytest -q -x -m "not slow"

lint: setup
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/ruff format --check src tests bench tools
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format src tests bench tools
	$(VENV)/bin/ruff check --fix src tests bench tools

bench: setup
	$(PY) bench/run.py

# A separate environment with the apache-otava package (it pins numpy 2.2.* and scipy < 1.17 and pulls
# BigQuery and Slack clients, so it stays out of .venv): our change points are compared against it.
otava-env: .venv-otava/.installed-stamp

.venv-otava/.installed-stamp:
	test -x .venv-otava/bin/python || $(PYTHON) -m venv .venv-otava
	.venv-otava/bin/python -m pip install --quiet --disable-pip-version-check 'apache-otava==0.8.0'
	touch .venv-otava/.installed-stamp

otava-compare: otava-env
	.venv-otava/bin/python tests/gate/otava_compare.py

clean:
	rm -rf demo-out build dist .pytest_cache .mypy_cache .ruff_cache

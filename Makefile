# Everything installs from scratch into .venv: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sim run scenarios/baseline.yaml --out results

test: $(STAMP)
	$(BIN)/python -m pytest

# The edit-test loop: everything but clusters, sweeps, reports and real processes (under 30 s).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests
	$(BIN)/mypy

# Every benchmark runs; the status is 1 if any missed its target.
bench: $(STAMP)
	status=0; \
	$(BIN)/python benchmarks/speed.py || status=1; \
	$(BIN)/python benchmarks/executors.py || status=1; \
	$(BIN)/python benchmarks/engine_overhead.py || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) results/*/

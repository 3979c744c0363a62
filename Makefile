# HyT-NAS Studio: `make run` runs a headless search, `make test` the test suite.
# Both create the virtual environment in .venv and install the pinned requirements first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all lint demo bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)
	$(BIN)/ruff check search_engine tests benchmarks
	$(BIN)/mypy

run demo: $(STAMP)
	$(BIN)/python -m search_engine run --problem zdt1 --preset gp --budget 110 --batch-size 10 --seed 0 --out var/zdt1-evaluations.csv

bench: $(STAMP)
	$(BIN)/python benchmarks/iteration_overhead.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

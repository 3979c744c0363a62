# HyT-NAS Studio: `make run` runs the web app (web server, RQ workers, Redis), `make test` the test suite,
# `make demo` a headless search. Each creates the virtual environment in .venv and installs the pinned
# requirements first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all lint demo bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# The default suite measures coverage ([tool.coverage] in pyproject.toml: what is measured, the floor it
# fails under); the PostgreSQL rerun of the web tests does not.
test: $(STAMP)
	sh tests/ensure_chromium.sh
	$(BIN)/python -m pytest --cov
	$(BIN)/python tests/run_on_postgres.py

test-all: $(STAMP)
	$(BIN)/python -m pytest -m ''

# Format and lint rules live in pyproject.toml ([tool.ruff], [tool.mypy]); .pre-commit-config.yaml runs the same.
LINT_PATHS := search_engine hytnas_web tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# One worker times networks (the evaluations queue), whatever HYTNAS_WORKERS says; the others run iterations.
MEASURING_WORKERS ?= 1

run: $(STAMP)
	$(BIN)/python manage.py runstack --measuring-workers $(MEASURING_WORKERS)

demo: $(STAMP)
	$(BIN)/python -m search_engine run --problem zdt1 --preset gp --budget 110 --batch-size 10 --seed 0 --out var/zdt1-evaluations.csv

bench: $(STAMP)
	$(BIN)/python benchmarks/iteration_overhead.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage

# Two entry points on a fresh machine with python3, pip and make: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Each stamp is rebuilt whenever pyproject.toml changes, so a pull that adds a dependency
# installs it. The demo installs only what it runs (the package, the mock server, the
# failure-mode clustering); the test tools come with `make test`, Jupyter with `make notebooks`.
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP  := $(VENV)/.installed-dev
NB_STAMP   := $(VENV)/.installed-notebooks

.PHONY: demo test lint typecheck pytest notebooks bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[mock,modes]'
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,mock,modes]'
	@touch $@

$(NB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[mock,modes,notebooks]'
	@touch $@

demo: $(DEMO_STAMP)
	$(BIN)/cekura-analytics demo --data-dir data/demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# Jupyter on the notebooks; they read CEKURA_API_KEY from the environment or .env
notebooks: $(NB_STAMP)
	$(BIN)/jupyter lab notebooks/

# every benchmark figure in one table, each against its reference from the same run (about
# 25 minutes on 2 cores); BENCH_ARGS=--quick for small sizes, DLT_PYTHON=P to compare with dlt
bench: $(DEV_STAMP)
	$(BIN)/python bench/all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data/demo .pytest_cache .mypy_cache .ruff_cache

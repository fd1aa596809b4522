# Two entry points on a fresh machine with python3, pip and make: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp is rebuilt whenever pyproject.toml changes, so a pull that adds a dependency installs it.
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest notebooks bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,mock]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cekura-analytics demo --data-dir data/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mock,notebooks]'
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/views.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache .mypy_cache .ruff_cache

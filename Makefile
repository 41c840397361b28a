# Two entry points for a fresh machine: `make run` and `make test` (each installs what it needs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install lint bench clean

$(BIN)/photochanger: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/photochanger

run: install  ## install, then serve on the embedded PostgreSQL under ./var
	$(BIN)/photochanger serve

lint: install  ## formatting, lint, types and layer contracts
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint  ## install, check, and run the whole test suite
	bash scripts/ensure-chromium  # the console's browser tests need Debian's Chromium
	$(BIN)/pytest

bench: install  ## ingest latency / load / memory benchmark (prints a table)
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# Two entry points: `make demo` (set up and run the whole loop) and `make test` (the full suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve,test,spark,compiled,browser]'

demo: install
	$(BIN)/careleads demo

lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install-test
	$(BIN)/mypy

pytest: install-test
	$(BIN)/pytest --cov=careleads --cov-report=term:skip-covered

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache careleads-demo

# Two entry points: `make demo` (set up and run the whole loop) and `make test` (the full suite; its last
# line is the suite's wall time).
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
	$(BIN)/pip install --quiet -e '.[serve,test,spark,compiled,browser,crm]'

demo: install
	$(BIN)/careleads demo

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy
	$(BIN)/mypy benchmarks

# the wall time is printed after the coverage table and pytest's summary, whether the suite passed or not
pytest: install-test
	@start=$$(date +%s); status=0; \
	$(BIN)/pytest --cov=careleads --cov-report=term:skip-covered || status=$$?; \
	echo "test suite wall time: $$(( $$(date +%s) - start )) s on $$(nproc) CPUs"; \
	exit $$status

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache careleads-demo

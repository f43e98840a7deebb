# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VI := $(BIN)/victim-intake
# Keep the compiled form of the project's modules: without it every command and test process
# compiles them again (some environments export PYTHONDONTWRITEBYTECODE).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes; the stamp file records the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Demo keys if none exist, a synthetic inbox if it is empty, then the nightly flow.
run: install
	$(VI) keys init --demo
	$(VI) demo --if-empty
	$(VI) run

## The whole test suite (unit and end to end: Prefect servers, SQLite and PostgreSQL, the command line
## as a process, a browser), two tests at a time; the slowest are listed at the end.
test: install-test
	$(BIN)/python -m pytest -n 2 --durations=20

## The unit tier: no Prefect server, PostgreSQL, process or browser; under a minute.
test-fast: install-test
	TEST_TIER=fast $(BIN)/python -m pytest -n 2 -m "not e2e" --durations=10

## Ruff: pyflakes, pycodestyle, import order, bugbear, blind excepts, pyupgrade (pyproject.toml).
lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache

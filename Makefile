# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VI := $(BIN)/victim-intake

.PHONY: run test install install-test clean

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

## The whole test suite (unit, Prefect end to end, SQLite and PostgreSQL).
test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache

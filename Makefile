# Every target creates .venv and installs what it needs on first use (and when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
# PostgreSQL tests use this server when it answers and skip (with the reason) when it does not;
# .ci/run sets REQUIRE_POSTGRES=1 so that there a missing server fails the run.
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint demo bench worker migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python -m bot db upgrade
	$(BIN)/python app.py

demo: $(VENV)/.runtime
	$(BIN)/python -m bot demo

bench: $(VENV)/.runtime
	$(BIN)/python -m bench

worker: $(VENV)/.runtime
	$(BIN)/python -m bot db upgrade
	$(BIN)/python -m bot worker

migrate: $(VENV)/.runtime
	$(BIN)/python -m bot db upgrade

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Every target creates .venv and installs what it needs on first use (and when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
# PostgreSQL tests use this server when it answers and skip (with the reason) when it does not;
# .ci/run sets REQUIRE_POSTGRES=1 so that there a missing server fails the run.
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

# Gettext catalogs (README, "Languages"): the .po files are the source, the .mo files are built.
LOCALES  := bot/views/locales
DOMAIN   := roombot
CATALOGS := $(patsubst %.po,%.mo,$(wildcard $(LOCALES)/*/LC_MESSAGES/$(DOMAIN).po))

# roombot needs Python 3.11+; say so before an older one makes a .venv that pip then fails in.
NEW_ENOUGH := import sys; sys.exit(sys.version_info < (3, 11))

.PHONY: run test lint demo bench worker migrate lock clean catalogs messages language

$(BIN)/python:
	@$(PYTHON) -c '$(NEW_ENOUGH)' 2>/dev/null || { \
	  echo "roombot needs Python 3.11 or newer, and '$(PYTHON)' is $$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo missing)." >&2; \
	  echo "Install one, then run for example: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c '$(NEW_ENOUGH)' || { \
	  echo "$(VENV) was made with an older Python: run 'make clean', then make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; exit 1; }
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c '$(NEW_ENOUGH)' || { \
	  echo "$(VENV) was made with an older Python: run 'make clean', then make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; exit 1; }
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.runtime

# Compile one catalog with Babel; a .po edited since the last build is compiled again.
%/LC_MESSAGES/$(DOMAIN).mo: %/LC_MESSAGES/$(DOMAIN).po | $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -D $(DOMAIN) -i $< -o $@

catalogs: $(CATALOGS)

# After adding or changing texts in bot/views: extract them and merge them into every .po.
messages: $(VENV)/.runtime
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header \
		-k _ -k ngettext:1,2 -k pgettext:1c,2 -o $(LOCALES)/$(DOMAIN).pot bot/views
	$(BIN)/pybabel -q update -D $(DOMAIN) -i $(LOCALES)/$(DOMAIN).pot -d $(LOCALES) \
		--ignore-obsolete --ignore-pot-creation-date
	rm -f $(LOCALES)/$(DOMAIN).pot
	$(BIN)/python -m tests.catalogs || true

# A new language: make language LOCALE=ja (then translate, and add it to ENABLED_LOCALES).
language: $(VENV)/.runtime
	test -n "$(LOCALE)" || { echo "usage: make language LOCALE=xx" >&2; exit 2; }
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header \
		-k _ -k ngettext:1,2 -k pgettext:1c,2 -o $(LOCALES)/$(DOMAIN).pot bot/views
	$(BIN)/pybabel init -D $(DOMAIN) -i $(LOCALES)/$(DOMAIN).pot -d $(LOCALES) -l $(LOCALE)
	rm -f $(LOCALES)/$(DOMAIN).pot

run: $(VENV)/.runtime catalogs
	$(BIN)/python -m bot db upgrade
	$(BIN)/python app.py

demo: $(VENV)/.runtime catalogs
	$(BIN)/python -m bot demo

bench: $(VENV)/.runtime catalogs
	$(BIN)/python -m bench

worker: $(VENV)/.runtime catalogs
	$(BIN)/python -m bot db upgrade
	$(BIN)/python -m bot worker

migrate: $(VENV)/.runtime catalogs
	$(BIN)/python -m bot db upgrade

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Most tests wait on I/O (the fake Slack, SMTP, HTTP, child processes), so more workers than cores
# pay off. Each worker is a test session of its own: its own PostgreSQL database, its own tmp dirs,
# and its own run of a module-scoped fixture whose module's tests it got. (xdist_group marks and
# --dist loadgroup do nothing with pytest 9.2 and pytest-xdist 3.8: the group never reaches the
# scheduler.)
TEST_WORKERS ?= 4
test: lint catalogs
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# requirements.txt: the exact versions a clean install of pyproject.toml's ranges gets today, for
# platforms that install from a lock (buildpacks, the Dockerfile). Run after changing dependencies.
lock: | $(BIN)/python
	rm -rf .lock-venv
	$(BIN)/python -m venv .lock-venv
	.lock-venv/bin/python -m pip --disable-pip-version-check --quiet install .
	{ echo "# Exact versions for deployment, from pyproject.toml's ranges: regenerate with 'make lock'."; \
	  .lock-venv/bin/python -m pip --disable-pip-version-check freeze --exclude roombot; } > requirements.txt
	rm -rf .lock-venv build

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache .hypothesis $(CATALOGS)

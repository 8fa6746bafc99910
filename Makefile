# obrolan's front door. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench bench-nodes migrate initial-migration clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml $(VENV)/.chromium
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(STAMP)

# The web client's browser tests drive Debian's Chromium; Playwright never downloads one.
$(VENV)/.chromium: $(BIN)/python
	command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update && $$SUDO apt-get install -y chromium; }
	touch $@

## run: install, migrate ./var/obrolan.db and serve on http://$${OBROLAN_HOST:-127.0.0.1}:$${OBROLAN_PORT:-8000}
# `obrolan serve` migrates before it listens.
run: $(STAMP)
	$(BIN)/obrolan serve

## test: install the test extras, lint, type-check and run the whole suite
test: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

## bench: S1 (DM pairs), S2 (big room), S3 (idle sockets) against obrolan and the baseline,
## then S1 and S2 on PostgreSQL + Redis with 1 and 3 workers (skipped without them),
## then S1 at half its rate while the retention sweep deletes 100,000 rows
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.nodes
	$(BIN)/python -m bench.sweep_load

## bench-nodes: S1 and S2 against obrolan on PostgreSQL + Redis with 1 and 3 worker processes
bench-nodes: $(TEST_STAMP)
	$(BIN)/python -m bench.nodes

migrate: $(STAMP)
	$(BIN)/obrolan migrate

# Before the first release only: regenerate the initial migration from the table definitions.
initial-migration: $(TEST_STAMP)
	rm -f src/obrolan/db/migrations/versions/0001_initial_schema.py /tmp/obrolan-autogen.db
	$(BIN)/alembic -x url=sqlite+aiosqlite:////tmp/obrolan-autogen.db revision --autogenerate -m "initial schema" --rev-id 0001
	$(BIN)/ruff format src/obrolan/db/migrations/versions/0001_initial_schema.py
	$(BIN)/ruff check --fix --quiet src/obrolan/db/migrations/versions/0001_initial_schema.py

## vendor: fetch the web client's pinned libraries (Preact, htm, uqr) and the tests' axe-core from npm
vendor: $(STAMP)
	$(BIN)/python -m obrolan.web.vendoring

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

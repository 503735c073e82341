# OpenDVC: one command each for set-up, run, lint, test, bench.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi:app
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0
PYTEST_WORKERS ?= 2

.PHONY: help install install-dev translations translations-update migrate catalog run run-worker test test-embedded test-production lint format bench lock clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## Create the virtualenv and install the portal

install-dev: $(VENV)/.installed-dev ## ... and the test tools

translations: $(VENV)/.installed ## Compile the message catalogs
	$(BIN)/pybabel compile --statistics -d portal/translations -f 2>&1 | tail -n 3

translations-update: install ## Extract messages and merge them into the vi/en catalogs
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --ignore-obsolete --no-fuzzy-matching

migrate: install translations ## Bring the database to the newest migration
	$(BIN)/flask db upgrade

catalog: migrate ## Import the bundled catalog (518 real procedures, agencies, provinces)
	$(BIN)/flask catalog import-bundled

run: catalog ## Set up everything and serve on http://127.0.0.1:5000 (SQLite, jobs in-process)
	$(BIN)/flask run --host 127.0.0.1 --port 5000

run-worker: install ## Run background jobs on RQ, partner deliveries and the payments cron (production: needs REDIS_URL)
	$(BIN)/flask payments cron & cron=$$!; $(BIN)/flask deliveries work & deliveries=$$!; \
	trap 'kill $$cron $$deliveries' EXIT; $(BIN)/flask jobs worker

test: install-dev translations ## Run the whole suite on the embedded default (SQLite)
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-production: install-dev translations ## Run the suite on PostgreSQL and Redis (PG_URL, REDIS)
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install-dev ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev translations ## Benchmarks (bench/): ratios against a bare Flask endpoint
	$(BIN)/python -m bench $(BENCH_ARGS)

lock: ## Re-pin requirements.txt from requirements.in (in a scratch virtualenv)
	rm -rf /tmp/opendvc-lock && $(PYTHON) -m venv /tmp/opendvc-lock
	/tmp/opendvc-lock/bin/pip install --quiet -r requirements.in
	/tmp/opendvc-lock/bin/pip freeze --exclude-editable > requirements.txt

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache

# Storefill: `make demo` serves the demo on SQLite; `make test` runs the whole suite on PostgreSQL + Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements
PYTEST_ARGS ?=

.PHONY: install demo serve serve-prod test services bench bench-vs lint clean-demo

$(INSTALLED): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	cp requirements.txt $(INSTALLED)

install: $(INSTALLED)

## demo: venv, migrations, demo data, then the web server + a Celery worker and beat (Ctrl-C stops all)
demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	scripts/demo-serve

## serve: the demo's processes without re-seeding
serve: install
	scripts/demo-serve

## serve-prod: production processes — gunicorn + WhiteNoise, a Celery worker and beat — on PostgreSQL and Redis
## (needs SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL; see docs/deploy.md)
serve-prod: install
	scripts/serve-prod

## services: PostgreSQL, Redis, Chromium and poppler for the test suite (started / installed when missing)
services:
	scripts/ensure-test-services

## test: lint, then the whole suite (PostgreSQL, a real Celery worker on Redis, Chromium, SQLite demo smoke test)
test: install services lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the brokering benchmark (10k and 20k orders, three runs each) on its own database storefill_bench
bench: install services
	scripts/bench

## bench-vs: VS=<git revision> — that revision's benchmark (A) against this tree's (B), in turn, same world; digests must match
bench-vs: install services
	scripts/bench-vs $(VS)

## lint: ruff, and the layers contract of docs/architecture.md (pyproject.toml, import-linter)
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean-demo:
	rm -rf var/storefill.sqlite3* var/celery-queue var/celerybeat*

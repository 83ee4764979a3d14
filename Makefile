# The two commands: `make run` starts the whole application on embedded defaults,
# `make test` runs the whole test suite. Both set up everything they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv/bin
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: help setup run test lint schema bench bench-http messages

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup:  ## create .venv from the lock file (installs uv if it is missing)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

run: setup  ## migrate, seed, create demo accounts, start web + worker + beat on :8000
	$(VENV)/python manage.py migrate --noinput
	$(VENV)/python manage.py seed
	$(VENV)/python manage.py demo
	@echo "Starting web (http://127.0.0.1:8000), Celery worker and beat. Ctrl-C stops all."
	exec $(VENV)/honcho --procfile Procfile.dev start

test: setup  ## the whole test suite (PostgreSQL/Redis/Chromium used where this machine has them)
	@bash scripts/test $(PYTEST_ARGS)

lint: setup  ## ruff, mypy (Django and DRF plugins), and migrations in step with the models
	$(VENV)/ruff check .
	$(VENV)/mypy clinic treatments patients scheduling
	$(VENV)/python manage.py makemigrations --check --dry-run

schema: setup  ## regenerate the committed OpenAPI contract after an intended API change
	$(VENV)/python manage.py spectacular --file clinic/api/openapi.yaml --validate --fail-on-warn

messages: setup  ## bring the Korean/English catalogues in step with the code and compile them
	@bash scripts/messages

bench: setup  ## performance figures (printed, not asserted)
	@bash scripts/bench

bench-http: setup  ## pages and API under load (gunicorn + wrk) at a clinic group's size
	@bash scripts/bench-http $(BENCH_ARGS)

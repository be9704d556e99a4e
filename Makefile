# The two commands of the README. Each sets up its own virtualenv first.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast check system-deps lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

# Web, worker and beat together on the embedded default, with the offline snapshot loaded.
run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py load_snapshot
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" \
		PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho --procfile Procfile.dev start

# The whole suite: unit, integration (real Redis, PostgreSQL, Celery workers) and browser.
test: $(VENV)/.installed system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# Unit tests only (no servers, no browser), two processes: the quick loop while editing.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider -n 2 -m "not integration and not browser" $(PYTEST_ARGS)

# Everything CI checks before the tests: import contracts, lint, format, types, code shape.
check: $(VENV)/.installed
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) .ci/check_code.py

# Debian packages the integration and browser tests drive; installed when missing.
system-deps:
	@bash deploy/install-test-services.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Store Fulfillment — `make run` (demo on SQLite) and `make test` (the whole suite) work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: run test test-e2e bench soak install migrate seed clean serve

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')"
	touch $@

install: $(VENV)/.synced

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo "Serving on http://127.0.0.1:8000/ (Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest -m "not e2e and not performance and not reliability" $(PYTEST_ARGS)

test-e2e: install
	$(PY) -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

# Every benchmark at 100 facilities, then the routing rows (one rejection, Reject All, route_orders, rows read) at 1,000.
bench: install
	$(PY) -m pytest -m performance tests/performance -s $(PYTEST_ARGS)
	BENCH_FACILITIES=1000 $(PY) -m pytest -m performance tests/performance -s -k "single_rejection or route_orders" $(PYTEST_ARGS)

# Load and fault tests (tests/reliability): a throw-away PostgreSQL cluster, gunicorn, run_worker, locust for 60 s.
soak: install
	$(PY) -m pytest -m reliability tests/reliability -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .tools staticfiles db.sqlite3*

# Production-style: gunicorn on 127.0.0.1 only, behind a TLS proxy (README: Configuration and production). Only that
# proxy can reach it, so its X-Forwarded-For is trusted: the login throttle counts the real client addresses
# (TRUSTED_PROXY_COUNT=0 when nothing is in front; then every client would be one address to the throttle).
BIND ?= 127.0.0.1:8000
WORKERS ?= 4
TRUSTED_PROXY_COUNT ?= 1
serve: migrate
	$(PY) manage.py collectstatic --noinput
	TRUSTED_PROXY_COUNT=$(TRUSTED_PROXY_COUNT) $(VENV)/bin/gunicorn fulfillment.wsgi --bind $(BIND) --workers $(WORKERS)

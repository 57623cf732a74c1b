# Mission Control. `make run` serves the embedded default; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded default is a local, single-machine install. Its settings live in .env, written on
# the first `make run` (random SECRET_KEY, DEBUG off); settings.py reads it, so every manage.py
# command works in the same shell. DEBUG=1 make run gives Django's debug pages.

# Installs come from uv.lock (exact versions, hash-checked). uv itself lives in .tools/, its own
# small venv, so that syncing the project's venv never uninstalls it.
UV_VERSION ?= 0.13.9
UV := .tools/bin/uv

.PHONY: run test test-tools lint bench worker beat migrate venv clean lock lock-check lock-upgrade gateway-tools gateways

venv: $(VENV)/.installed

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install -q uv==$(UV_VERSION)

# --locked: refuse to install from a lock that no longer matches pyproject.toml.
# --inexact: leave tools a developer added to the venv alone (the locked ones are exact).
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --inexact --extra dev
	touch $@

# After editing pyproject.toml: lock the change, keeping every other version as it is.
lock: | $(UV)
	$(UV) lock

# Fails when uv.lock is out of date with pyproject.toml (CI runs it first).
lock-check: | $(UV)
	$(UV) lock --locked

# The one upgrade command: the newest versions within pyproject.toml's ranges (one package:
# `$(UV) lock --upgrade-package NAME`). Commit uv.lock after `make test` passes.
lock-upgrade: | $(UV)
	$(UV) lock --upgrade

migrate: venv
	$(PY) manage.py migrate --noinput

.env:
	$(PY) -m infra.local_env .env

run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
# One uvicorn process (the in-memory layers live in it), with the shipped ASGI settings
# (infra.serving: no proxy-header rewriting, bounded request heads).
run: venv .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py demo
	CELERY_EMBEDDED_WORKER=$${CELERY_EMBEDDED_WORKER:-1} $(PY) -m infra.serving \
		--host $(HOST) --port $(PORT) --workers 1

# Two workers (pytest-xdist), each with its own test database and Redis database; tests that
# share a browser, a server or a worker stay together on one (tests/ci_plugin.py). The 30
# slowest tests are printed at the end, so the next slow one is visible in every CI log.
PYTEST_WORKERS ?= 2
test: venv test-tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	PYTHONPATH=. $(VENV)/bin/pytest -p tests.ci_plugin -n $(PYTEST_WORKERS) --dist loadgroup \
		--durations=30 $(PYTEST_ARGS)

# What the tests drive besides Python, from Debian's packages when missing (needs root, as CI
# has): Chromium for the browser tests, pg_dump/pg_restore for the backup tests, wrk for the
# benchmark smoke test, nginx for the production serving layout; and the real OpenClaw gateway
# (gateway-tools, below) for the gateway tests.
TEST_TOOLS := chromium:chromium pg_dump:postgresql-client wrk:wrk nginx:nginx
test-tools: gateway-tools
	@missing=""; for pair in $(TEST_TOOLS); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: venv
	$(PY) -m bench.run_all $(BENCH_ARGS)

# Node 24 and the pinned OpenClaw gateway in .tools/gateway/ (the gateway tests run against it).
# Idempotent: a second run returns at once. Versions: deploy/gateway-tools/*/package-lock.json.
gateway-tools:
	deploy/install_gateway_tools.sh

# The gateway supervisor: one connection per gateway (docs/gateways.md).
gateways: venv
	$(PY) manage.py run_gateways

worker: venv
	$(VENV)/bin/celery -A missioncontrol worker --loglevel=INFO

beat: venv
	$(VENV)/bin/celery -A missioncontrol beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) .tools/ var/ staticfiles/ .pytest_cache .ruff_cache

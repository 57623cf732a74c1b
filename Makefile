# Mission Control. `make run` serves the embedded default; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded default is a local, single-machine install. Its settings live in .env, written on
# the first `make run` (random SECRET_KEY, DEBUG off); settings.py reads it, so every manage.py
# command works in the same shell. DEBUG=1 make run gives Django's debug pages.

.PHONY: run test lint bench worker beat migrate venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '.[dev]'
	touch $@

migrate: venv
	$(PY) manage.py migrate --noinput

.env:
	$(PY) -m missioncontrol.local_env .env

run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
# One uvicorn process (the in-memory layers live in it), with the shipped ASGI settings
# (missioncontrol.serving: no proxy-header rewriting, bounded request heads).
run: venv .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py demo
	CELERY_EMBEDDED_WORKER=$${CELERY_EMBEDDED_WORKER:-1} $(PY) -m missioncontrol.serving \
		--host $(HOST) --port $(PORT) --workers 1

test: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: venv
	$(PY) -m bench.run_all $(BENCH_ARGS)

worker: venv
	$(VENV)/bin/celery -A missioncontrol worker --loglevel=INFO

beat: venv
	$(VENV)/bin/celery -A missioncontrol beat --loglevel=INFO --schedule=var/celerybeat-schedule

clean:
	rm -rf $(VENV) var/ staticfiles/ .pytest_cache .ruff_cache

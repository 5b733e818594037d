# Partner portal: developer and CI entry points.
#
#   make run          the embedded default (SQLite, filesystem Celery queue, console email)
#   make test         lint, format check, mypy, the import contracts, check --deploy and pytest against
#                     PostgreSQL and Redis on loopback
#   make lint | fmt | typecheck | messages | clean
#
# Everything runs inside .venv, created and synced from uv.lock by `make venv`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
RUFF := $(VENV)/bin/ruff
MYPY := $(VENV)/bin/mypy
PYTEST := $(VENV)/bin/pytest
LINT_IMPORTS := $(VENV)/bin/lint-imports
MANAGE := $(PY) manage.py
UV_VERSION := 0.13.8
# The interpreter a new .venv is made with: python3.11 if there is one, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
# Touched after a successful sync; newer than uv.lock and pyproject.toml means nothing to do.
SYNC_STAMP := $(VENV)/.synced

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# The services `make test` runs against (started by `make services` when down).
TEST_ENV := \
	PORTAL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal \
	PORTAL_REDIS_URL=redis://127.0.0.1:6379/0 \
	DJANGO_ALLOW_ASYNC_UNSAFE=true

# Sources for makemessages/compilemessages: never walk the venv or runtime data.
I18N_IGNORE := -i .venv -i var -i node_modules -i test-artifacts

.PHONY: help venv run test services system-deps lint fmt typecheck messages clean

help:
	@echo "make run          start the portal on http://$(HOST):$(PORT)/ with demo data (embedded default)"
	@echo "make test         ruff, mypy and pytest against PostgreSQL + Redis on loopback"
	@echo "make lint         ruff check + ruff format --check + lint-imports (which app may import which)"
	@echo "make fmt          ruff format + ruff check --fix"
	@echo "make typecheck    mypy"
	@echo "make messages     update and compile the sv/en translations"
	@echo "make services     start PostgreSQL and Redis if they are not answering"
	@echo "make system-deps  install chromium, gettext, poppler, DejaVu fonts, nginx, clamd and sigtool from Debian if missing (as root)"
	@echo "make clean        remove var/ (SQLite database, media, Celery queue, static)"

# --- Environment ---------------------------------------------------------------

venv: $(SYNC_STAMP)

$(SYNC_STAMP): uv.lock pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
		if [ -z "$(PYTHON)" ]; then echo "error: neither python3.11 nor python3 found" >&2; exit 1; fi; \
		echo "creating $(VENV) with $(PYTHON)"; \
		"$(PYTHON)" -m venv $(VENV); \
	fi
	@if ! "$(UV)" --version 2>/dev/null | grep -qx "uv $(UV_VERSION)\( .*\)\?"; then \
		"$(PY)" -m pip --version >/dev/null 2>&1 || "$(PY)" -m ensurepip --upgrade >/dev/null; \
		"$(PY)" -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"; \
	fi
	"$(UV)" sync --frozen --inexact
	@touch $@

# --- Embedded default ------------------------------------------------------------

# The embedded default is development: production (PORTAL_DEBUG false) refuses its key, console
# email and sealing files.
run: export PORTAL_DEBUG ?= true
# Log in with BankID against the simulator run_embedded starts beside the portal (development only).
run: export PORTAL_BANKID_URL ?= $(if $(filter true,$(PORTAL_DEBUG)),http://127.0.0.1:8765/rp/v6.0/,)
run: venv
	@# The compiled .mo files are committed; recompile only where gettext is installed.
	@if command -v msgfmt >/dev/null 2>&1; then $(MANAGE) compilemessages -v0 $(I18N_IGNORE); fi
	$(MANAGE) migrate --noinput
	$(MANAGE) signing_dev_cert
	$(MANAGE) seed_demo
	$(MANAGE) collectstatic --noinput -v0
	$(MANAGE) run_embedded --host $(HOST) --port $(PORT)

# --- Tests and checks ------------------------------------------------------------

test: system-deps venv services
	$(RUFF) check .
	$(RUFF) format --check .
	$(MYPY) .
	@# Which app may import which: the contracts in pyproject.toml (docs/architecture.md).
	$(LINT_IMPORTS)
	@# check --deploy --fail-level WARNING with the README's production variables (PORTAL_DEBUG=false).
	$(PY) deploy/check_deploy.py
	$(TEST_ENV) $(PYTEST) $(PYTEST_ARGS)

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .
	$(LINT_IMPORTS)

fmt: venv
	$(RUFF) format .
	$(RUFF) check --fix .

typecheck: venv
	$(MYPY) .

services:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	fi
	@if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
		echo "starting Redis"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true; \
	fi
	@for i in $$(seq 1 60); do \
		pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1 \
			&& [ "$$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ] && exit 0; \
		sleep 0.5; \
	done; \
	echo "error: PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) did not answer within 30 s" >&2; \
	exit 1

system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	command -v pdfsig >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -x /usr/sbin/clamd ] || missing="$$missing clamav-daemon"; \
	command -v sigtool >/dev/null 2>&1 || missing="$$missing clamav"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "warning: missing Debian packages:$$missing (install them as root: apt-get install chromium gettext fonts-dejavu-core poppler-utils nginx clamav-daemon clamav)" >&2; \
		exit 0; \
	fi; \
	echo "installing Debian packages (missing:$$missing)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && \
	apt-get install -y -qq --no-install-recommends chromium gettext fonts-dejavu-core poppler-utils nginx clamav-daemon clamav </dev/null && \
	{ [ ! -d /run/systemd/system ] || systemctl disable --now clamav-freshclam clamav-daemon || true; }

# --- Translations ----------------------------------------------------------------

messages: export PORTAL_DEBUG ?= true
messages: venv
	$(MANAGE) makemessages -l sv -l en --no-obsolete $(I18N_IGNORE)
	$(MANAGE) compilemessages $(I18N_IGNORE)

# --- Housekeeping ------------------------------------------------------------------

clean:
	rm -rf var/

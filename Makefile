# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
REPORT ?= .sparkify/report.html
# The optional C converter, built in place by the install step (never at run time). A compiler given as
# `make build CC=...` (or $CC) is passed on; `CC=/nonexistent` builds nothing, like a machine without one.
NATIVE_LIB := sparkify/copy/_native.so
BUILD_CC   := $(if $(filter default,$(origin CC)),,CC="$(CC)")

.PHONY: demo report test lint bench build sanitize fuzz stop clean help

help:
	@echo "make demo     - run the whole pipeline on the embedded local warehouse with generated sample data"
	@echo "make report   - make demo, then write the analysts' HTML report to $(REPORT)"
	@echo "make test     - ruff, then the test suite (real embedded PostgreSQL, moto for AWS), then make sanitize"
	@echo "make lint     - ruff over the whole tree (make test runs it first)"
	@echo "make bench    - run the benchmarks: the load (bench/load.py), then the report (bench/report.py)"
	@echo "make build    - build the optional C converter (sparkify/copy/_native.so); without a compiler: pure Python"
	@echo "make sanitize - the C-vs-Python tests against an AddressSanitizer + UBSan build of the C converter"
	@echo "make fuzz     - fuzz the C converter against the Python reference (FUZZ_MINUTES=30), keeping the corpus"
	@echo "make stop     - stop the embedded PostgreSQL server (the demo's, and ./dwh.cfg's if it names another)"
	@echo "make clean    - stop the server and delete .sparkify/ (local database and sample data) and build/"

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

build: $(NATIVE_LIB)

# Rebuilt when native.c changes. Without a compiler the script says why and succeeds, creating nothing
# (so it runs, and says so, each time).
$(NATIVE_LIB): sparkify/copy/native.c tools/build_native.py
	$(BUILD_CC) $(PYTHON) tools/build_native.py

# --sample: the built-in default's own database and sample data, whatever ./dwh.cfg names (even a Redshift
# cluster, whose tables create_tables.py would drop).
demo: $(VENV)/.runtime build
	$(PY) generate_data.py
	$(PY) create_tables.py --sample
	$(PY) etl.py --sample
	$(PY) analytics.py --sample

report: demo
	$(PY) analytics.py --sample --html $(REPORT)

test: $(VENV)/.dev build
	$(PY) -m ruff check --output-format concise .
	$(BUILD_CC) $(PY) -m pytest
	$(BUILD_CC) $(PY) tools/sanitize_tests.py

lint: $(VENV)/.dev
	$(PY) -m ruff check --output-format concise .

sanitize: $(VENV)/.dev
	$(BUILD_CC) $(PY) tools/sanitize_tests.py

FUZZ_MINUTES ?= 30
fuzz: $(VENV)/.dev build
	$(BUILD_CC) $(PY) tools/fuzz_native.py --minutes $(FUZZ_MINUTES)

bench: $(VENV)/.dev build
	$(PY) bench/load.py
	$(PY) bench/report.py

# The built-in default's server (the one make demo starts, whose data make clean deletes), then the one
# ./dwh.cfg names if it names another.
stop: $(VENV)/.runtime
	$(PY) stop_local.py --sample
	@if [ -f dwh.cfg ]; then echo "$(PY) stop_local.py --config dwh.cfg"; $(PY) stop_local.py --config dwh.cfg; fi

clean: stop
	rm -rf .sparkify build

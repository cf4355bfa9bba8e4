# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
REPORT ?= .sparkify/report.html

.PHONY: demo report test bench stop clean help

help:
	@echo "make demo   - run the whole pipeline on the embedded local warehouse with generated sample data"
	@echo "make report - make demo, then write the analysts' HTML report to $(REPORT)"
	@echo "make test   - run the test suite (real embedded PostgreSQL, moto for AWS)"
	@echo "make bench  - run the load benchmark (bench/load.py)"
	@echo "make stop   - stop the embedded PostgreSQL server"
	@echo "make clean  - stop the server and delete .sparkify/ (local database and sample data)"

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(VENV)/.runtime
	$(PY) generate_data.py
	$(PY) create_tables.py
	$(PY) etl.py
	$(PY) analytics.py

report: demo
	$(PY) analytics.py --html $(REPORT)

test: $(VENV)/.dev
	$(PY) -m pytest

bench: $(VENV)/.dev
	$(PY) bench/load.py

stop: $(VENV)/.runtime
	$(PY) etl.py --stop-local

clean: stop
	rm -rf .sparkify

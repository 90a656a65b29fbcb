# erp-sync-operator: the commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv demo test lint typecheck unit crd crd-check bench clean

help:
	@echo "make demo   - validate, plan and render the examples (no cluster needed)"
	@echo "make test   - set up a virtualenv and run ruff, mypy and every test"
	@echo "make crd    - regenerate crds/ from the API models"
	@echo "make bench  - run the benchmarks in bench/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@echo "== erp-sync validate -f examples/"
	$(BIN)/erp-sync validate -f examples/
	@echo
	@echo "== erp-sync plan -f examples/"
	$(BIN)/erp-sync plan -f examples/
	@echo
	@echo "== erp-sync render -f examples/generic.yaml (the CronJobs the operator will create)"
	$(BIN)/erp-sync render -f examples/generic.yaml | head -n 40
	@echo "... (erp-sync render -f examples/ prints them all)"

lint: $(STAMP)
	$(BIN)/ruff check operator sync-jobs emulators tests bench
	$(BIN)/ruff format --check operator sync-jobs emulators tests bench

typecheck: $(STAMP)
	$(BIN)/mypy operator/erpsync sync-jobs/erpsync_worker emulators/erpsync_emulators tests bench

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

crd: $(STAMP)
	$(BIN)/erp-sync crd > crds/erpsyncschedules.erpsync.io.yaml

bench: $(STAMP)
	$(BIN)/python bench/plan.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

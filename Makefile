# erp-sync-operator: the commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv demo test lint typecheck unit crd bench constraints clean

help:
	@echo "make demo   - validate, plan and render the examples (no cluster needed)"
	@echo "make test   - set up a virtualenv and run ruff, mypy and every test"
	@echo "make crd    - regenerate crds/ from the API models"
	@echo "make bench  - run the benchmarks in bench/"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
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

# Re-pin every dependency to what a fresh install resolves today (review the diff before committing).
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; .venv-constraints/bin/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-constraints

bench: $(STAMP)
	$(BIN)/python bench/plan.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

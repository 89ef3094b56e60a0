# spheron-dao-deploy — every target installs what it needs (idempotent, quick when installed).
#   make demo   the whole pipeline on a local chain with the local Spheron emulator
#               (make demo KEEP=1: then keep serving the web app on the demo's chain)
#   make test   the test suite (contracts, services, scripts, the deploy bot on SQLite and
#               PostgreSQL, the web app)
#   make bench  gas, bot and web app benchmarks -> bench/results.json
#   make mutation  mutation testing of the bot core, per-module scores (not part of make test)
#   make lint   ruff, and tsc on the web app

SHELL := /bin/sh
PYTHON ?= python3
SOLC_VERSION := $(shell sed -n 's/.*"solc": "\([0-9.]*\)".*/\1/p' package.json)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Ape never reaches the network for these in tests and the demo.
export APE_DISABLE_TELEMETRY := 1

.PHONY: all install solc chromium postgresql test lint format demo bench mutation clean

all: install

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	@# npm ci refuses a lock that lists only this platform's optional anvil binary; install from the lock instead.
	npm install --ignore-scripts --no-audit --no-fund --no-save --loglevel=error
	touch $@

$(BIN)/anvil: node_modules/.installed $(VENV)/.installed tools/link-anvil.sh
	tools/link-anvil.sh

# Always checked (it is quick when nothing changed): py-solc-x's compiler folder is shared by every
# checkout on the machine, so the wrapper must point at this checkout's tools/solc-cli.js.
solc: node_modules/.installed
	@tools/install-solc.sh $(SOLC_VERSION)

.build/__local__.json: $(VENV)/.installed ape-config.yaml $(wildcard contracts/*.sol contracts/*/*.sol) | solc
	$(BIN)/ape compile
	touch $@

# The web app (webapp/): data exported from Python (spec schema, revert messages), then the ABIs,
# the standalone spec validator and the bundle (webapp/build.mjs), then the type check.
WEBAPP_SOURCES := $(shell find webapp/src webapp/static -type f 2>/dev/null) webapp/build.mjs webapp/tsconfig.json
WEBAPP_DATA_SOURCES := $(wildcard services/spec/*.py) services/cli/error_catalogue.py services/common/formatting.py services/webapp/build_data.py

webapp/generated/.stamp: $(VENV)/.installed $(WEBAPP_DATA_SOURCES)
	$(BIN)/python -m services.webapp.build_data webapp/generated
	touch $@

webapp/dist/.built: node_modules/.installed .build/__local__.json webapp/generated/.stamp $(WEBAPP_SOURCES)
	node webapp/build.mjs
	node_modules/.bin/tsc -p webapp
	touch $@

# Always checked (quick when installed): the browser tests drive Debian's chromium.
chromium:
	@tools/install-chromium.sh

# Always checked (quick when installed): the tests and benchmarks start throwaway PostgreSQL
# clusters for the ledger's second backend. Not part of `install`: the bot needs no server.
postgresql:
	@tools/install-postgresql.sh

install: $(VENV)/.installed node_modules/.installed $(BIN)/anvil solc .build/__local__.json webapp/dist/.built chromium

test: install postgresql
	$(BIN)/ape test tests

lint: $(VENV)/.installed webapp/dist/.built
	$(BIN)/ruff format --check services testbed scripts tests bench
	$(BIN)/ruff check services testbed scripts tests bench
	node_modules/.bin/tsc -p webapp
	node_modules/.bin/tsc -p tests/webapp/node

format: $(VENV)/.installed
	$(BIN)/ruff format services testbed scripts tests bench
	$(BIN)/ruff check --fix services testbed scripts tests bench

demo: install
	$(BIN)/python -m testbed.demo $(if $(KEEP),--keep)

bench: install postgresql
	$(BIN)/python -m bench.run

# mutmut over the bot core (deployer, changes, ledger, watcher, spec model; `[tool.mutmut]` in
# pyproject.toml) with statement deletion added, from a clean slate, then the figures
# (testbed/mutation). Niced: it runs MUTATION_JOBS mutants at once for tens of minutes.
MUTATION_JOBS ?= 2

$(VENV)/.mutation-installed: $(VENV)/.installed requirements-mutation.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	touch $@

mutation: $(VENV)/.mutation-installed .build/__local__.json postgresql
	rm -rf mutants
	nice -n 19 $(BIN)/python -m testbed.mutation run --max-children $(MUTATION_JOBS)
	$(BIN)/python -m testbed.mutation report

clean:
	rm -rf .build contracts/.cache webapp/generated webapp/dist mutants

# spheron-dao-deploy — every target installs what it needs (idempotent, quick when installed).
#   make demo   the whole pipeline on a local chain with the local Spheron emulator
#   make test   the test suite (contracts, services, scripts, the deploy bot)
#   make bench  gas and bot benchmarks -> bench/results.json
#   make lint   ruff

SHELL := /bin/sh
PYTHON ?= python3
SOLC_VERSION := $(shell sed -n 's/.*"solc": "\([0-9.]*\)".*/\1/p' package.json)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Ape never reaches the network for these in tests and the demo.
export APE_DISABLE_TELEMETRY := 1

.PHONY: all install solc test lint format demo bench clean

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

install: $(VENV)/.installed node_modules/.installed $(BIN)/anvil solc .build/__local__.json

test: install
	$(BIN)/ape test tests

lint: $(VENV)/.installed
	$(BIN)/ruff format --check services testbed scripts tests bench
	$(BIN)/ruff check services testbed scripts tests bench

format: $(VENV)/.installed
	$(BIN)/ruff format services testbed scripts tests bench
	$(BIN)/ruff check --fix services testbed scripts tests bench

demo: install
	$(BIN)/python -m testbed.demo

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf .build contracts/.cache

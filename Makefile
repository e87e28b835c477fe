# Paddock — `make run` starts a server, `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DATA_DIR ?= .paddock
LISTEN ?= 127.0.0.1:7070

.PHONY: all deps build run test test-e2b bench doctor lint clean

all: build

deps:
	@./scripts/install-deps.sh
	@./scripts/install-python.sh
	@./scripts/install-runsc.sh

build: deps
	$(SWIFT) build

run: build
	./.build/debug/paddock server --data-dir $(DATA_DIR) --listen $(LISTEN) --print-first-signin

# Sandbox tests need root, user namespaces and runc; elsewhere they are skipped with the reason printed.
test: build lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	./scripts/test-e2b.sh

# The E2B-compatible API driven by E2B's official Python SDKs (a virtualenv in .venv/).
test-e2b: build
	./scripts/test-e2b.sh

bench: deps
	$(SWIFT) build -c release
	./.build/release/paddock bench

doctor: build
	./.build/debug/paddock doctor

# Sources are linted strictly (no force-unwrap, formatting); tests only for formatting.
lint:
	$(SWIFT) format lint --recursive --strict Sources Package.swift
	$(SWIFT) format lint --recursive Tests

clean:
	rm -rf .build .paddock-bench

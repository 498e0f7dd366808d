# proxmox-backup: build, test, lint, demo. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SHELL_FILES = $(shell git ls-files -co --exclude-standard legacy shims bin scripts tests/helpers tests/bats .ci | while read -r f; do [ -f "$$f" ] && head -c 64 "$$f" | grep -qE '^#!.*(bash|/sh|bats)|shell=bash' && echo "$$f"; done)

.PHONY: setup build test test-unit test-bats test-parity lint demo bench gen-keys clean

setup:
	scripts/setup

build: setup

gen-keys: setup
	node dist/native/tools/gen-keys.js

test: setup lint test-unit test-bats

test-unit:
	npx vitest run

test-bats:
	bats tests/bats

lint:
	npx tsc --noEmit -p tsconfig.json
	npx eslint .
	shellcheck -x $(SHELL_FILES)

demo: setup
	scripts/demo

clean:
	rm -rf dist .demo

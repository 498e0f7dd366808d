# proxmox-backup: build, test, lint, demo. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SHELL_FILES = $(shell git ls-files -co --exclude-standard legacy shims bin scripts tests/helpers tests/bats .ci | while read -r f; do [ -f "$$f" ] && head -c 64 "$$f" | grep -qE '^#!.*(bash|/sh|bats)|shell=bash' && echo "$$f"; done)

.PHONY: setup build test test-unit test-bats test-parity lint demo bench bench-quick gen-keys clean

setup:
	scripts/setup

build: setup

gen-keys: setup
	node dist/native/tools/gen-keys.js

test: setup lint test-unit test-bats test-parity

# The default parity set (every fixture host × the default scenarios, bash vs ts, against golden/); the
# nightly job adds --matrix. PARITY_ARGS passes more (e.g. --host DIR --scenario happy --update-golden).
test-parity:
	bin/switch-mode parity --quiet --report .parity-out/report.json $(PARITY_ARGS)

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

# A whole run-backup (every domain bash vs ts, host with CLI latencies), the backup domain, its archive phase, the storage phase and restore, bash vs ts, beside the limits (tar | zstd -T0,
# tar | xz -T0, tar | cat; cp, rclone copyto, sha256sum; zstd -dc | tar -x): wall and CPU time, peak RSS, JSON in .bench/bench.json (bench.ts, BENCHMARKS.md).
# bench-quick: under 3 minutes once the generated hosts exist under .bench/. BENCH_ARGS passes more.
bench: setup
	node dist/native/tools/bench.js $(BENCH_ARGS)

bench-quick: setup
	node dist/native/tools/bench.js --quick $(BENCH_ARGS)

clean:
	rm -rf dist .demo .bench

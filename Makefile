# egressctl: the two commands a newcomer needs are `make demo` and `make test`.
# Every target runs scripts/setup.sh first, so a fresh machine sets itself up.
BUN := node_modules/.bin/bun
SRC := $(shell find src -name '*.ts' 2>/dev/null) package.json scripts/build.ts scripts/compile.ts

.PHONY: setup build demo test test-unit test-integration typecheck bench bench-policy bench-apply bench-learn bench-adopt bench-stall clean image release schema

setup:
	@scripts/setup.sh

dist/egressctl: $(SRC)
	@scripts/setup.sh
	$(BUN) scripts/build.ts

build: dist/egressctl

demo: build
	@scripts/demo.sh

typecheck: setup
	node_modules/.bin/tsc --noEmit -p .

# The whole suite: the type check (a type error is a defect too), unit tests, then the
# compiled binary against the real kernel in lab namespaces. Needs root. Prints a
# closing "N passed, N failed" line.
test: build typecheck
	@scripts/test.sh

test-unit: build
	@scripts/test.sh test/unit

test-integration: build
	@scripts/test.sh test/integration

bench: build
	@scripts/bench.sh

bench-policy: build
	$(BUN) test/bench/policy.bench.ts

# apply and learned-element costs, library vs binary, in a lab namespace (needs root)
bench-apply: setup
	$(BUN) test/bench/apply.bench.ts

# one learn write, raw netlink vs libnftables, under static policies of 0/1k/10k CIDRs (needs root)
bench-learn: setup
	$(BUN) test/bench/learn.bench.ts

# the minimal image (binary, the libraries it loads, CA bundle; no base image pulled):
# egressctl:<version> in podman's local store and dist/egressctl-image.tar (docs/install.md)
image: build
	@scripts/image.sh

# linux x64 and arm64 binaries with SHA-256 sums in dist/release/, each checked (docs/install.md)
release: setup
	@scripts/setup.sh release
	$(BUN) scripts/release.ts

# schema/policy.schema.json from the valibot schema; a test fails when it is stale
schema: setup
	$(BUN) scripts/gen-schema.ts

# a restarted serve adopting full learned sets: time to ready, and the reads it needs (needs root)
bench-adopt: build
	$(BUN) test/bench/adopt.bench.ts

# a slow kernel (another process's huge nftables transaction) against the queries that do
# not wait for a kernel write: serve's kernel I/O in its worker thread vs inline (needs root)
bench-stall: build
	$(BUN) test/bench/stall.bench.ts

clean:
	rm -rf dist

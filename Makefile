# The two README commands, `make run` and `make test`, and the benchmarks.
# Each target installs what it needs first (installers/install-deps.sh).

CARGO ?= cargo
ARGS ?=

.PHONY: deps run test bench

deps:
	@bash installers/install-deps.sh

# Build and start the server (embedded SQLite store) on http://127.0.0.1:8080.
run: deps
	$(CARGO) build --release --locked -p vitals-server
	./target/release/vitals-server $(ARGS)

# Every test. The end-to-end tests in tests/ run the real binaries, so they are
# built first in the same (debug) profile the tests use: nothing builds twice.
test: deps
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked

bench: deps
	@echo "bench: no benchmarks yet; see bench/README.md"

# The two README commands, `make run` and `make test`, and the benchmarks.
# Each target installs what it needs first (installers/install-deps.sh).

CARGO ?= cargo
ARGS ?=

.PHONY: deps web run test bench

deps:
	@bash installers/install-deps.sh

# The website (assets/web): npm ci, then esbuild into assets/web/dist/.
web:
	cd assets/web && npm ci --no-audit --no-fund && npm run build

# Build and start the server (embedded SQLite store, the website) on
# http://127.0.0.1:8080, and the desktop app beside it where there is a display.
run: deps web
	$(CARGO) build --release --locked -p vitals-server -p vitals-desktop
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		(sleep 1; ./target/release/vitals) & \
	else \
		echo "no display: not starting the desktop app (./target/release/vitals agent works headless)"; \
	fi; \
	exec ./target/release/vitals-server $(ARGS)

# Every test. The end-to-end tests in tests/ run the real binaries, so they are
# built first in the same (debug) profile the tests use: nothing builds twice.
test: deps web
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked
	@if [ -n "$$VITALS_TEST_Q" ]; then \
		$(CARGO) test --locked -p vitals-server --lib real_q -- --ignored; \
	else \
		echo "skipped: VITALS_TEST_Q not set (the real-q tests of the kdb+ store did not run)"; \
	fi

# Benchmarks (release builds; about 20 minutes). Results are printed as
# Markdown and kept in bench/results/ (git-ignored); see docs/BENCHMARKS.md.
BENCH = ./target/release/vitals-bench
bench: deps
	@bash installers/install-deps.sh installers/bench-packages.txt
	$(CARGO) build --release --locked -p vitals-server -p vitals-bench -p vitals-desktop
	mkdir -p bench/results
	$(BENCH) bulk --rows 2000000 --clients 4 | tee bench/results/bulk.md
	$(BENCH) reads --instances 100 --requests 500 | tee bench/results/reads.md
	$(BENCH) agents --counts 2000 --seconds 60 | tee bench/results/agents.md
	$(BENCH) agents --counts 4000,5000,6000,7000 --seconds 30 | tee bench/results/agents-ramp.md
	bash bench/agent-vs-top.sh 600 | tee bench/results/agent-vs-top.md
	bash bench/window-vs-gsm.sh 120 | tee bench/results/window-vs-gsm.md
	bash bench/tray-idle.sh 120 | tee bench/results/tray-idle.md

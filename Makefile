# syfala-esp32: the two commands are `make demo` and `make test`; everything else is a step of them.
SHELL := /bin/bash
NPX := npx --no-install

.PHONY: setup build firmware typecheck lint test bench demo stress soak clean

## setup: install the exact dependencies of package-lock.json (only when it changed), and socat
## (the pseudo-terminal pairs of test/cli-board.test.ts) when it is missing and apt-get can install it
SUDO := $(shell if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then echo sudo; fi)
setup: node_modules/.syfala-setup
	@command -v socat >/dev/null || ( $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null ) || echo "setup: socat could not be installed: the serial-path tests will be skipped"
# Under a lock, and checked again inside it: make runs started together (parallel shells, CI)
# must not run two npm ci at once, each wiping the other's node_modules.
node_modules/.syfala-setup: package.json package-lock.json
	@flock .setup.lock sh -c '[ $@ -nt package-lock.json ] && [ $@ -nt package.json ] || { npm ci --no-audit --no-fund && touch $@; }'

## build: everything that is built
build: firmware

## firmware: build/firmware/syfala.js and syfala.min.js (MSGPACK=1: build/firmware-msgpack/, with msgpack)
firmware: setup
	$(NPX) tsx scripts/build-firmware.ts $(if $(MSGPACK),--msgpack,)

## typecheck: the whole project, then shared/ alone with the firmware's compiler settings
typecheck: setup
	$(NPX) tsc -p tsconfig.json
	$(NPX) tsc -p shared/tsconfig.json

## lint: Biome (formatting, lint rules, import cycles)
lint: setup
	$(NPX) biome check .

## test: typecheck, lint, the firmware builds (their gate and budget; the msgpack one for the
## real-interpreter tier) and the vitest suites: test/ in parallel, then the real-interpreter tier
## test/real/ one file at a time (it runs when ESPRUINO_BIN names an Espruino interpreter, Linux
## build, and says in one line that it was skipped otherwise); REQUIRE_ALL=1 fails on any skip
test: setup typecheck lint firmware
	$(NPX) tsx scripts/build-firmware.ts --msgpack
	$(NPX) vitest run

## demo: one emulated board with the real firmware, discovery, a loopback session with a report
demo: setup firmware
	$(NPX) tsx scripts/demo.ts

## bench: the benchmarks of bench/, each against a baseline measured in the same run
bench: setup
	$(NPX) tsx bench/run.ts

## stress: bounded stress parts against emulated boards (fuzz, impairment matrix, churn, client limits,
## a 2-minute soak), not part of `make test`; STRESS_PARTS=fuzz,matrix,churn,clients,soak selects parts
stress: setup firmware
	node --expose-gc --import tsx scripts/stress.ts

## soak: the soak part alone, SOAK_S seconds (default 1800) of streaming with loss: no drift, no growth
SOAK_S ?= 1800
soak: setup firmware
	STRESS_PARTS=soak STRESS_SOAK_S=$(SOAK_S) node --expose-gc --import tsx scripts/stress.ts

clean:
	rm -rf build

# syfala-esp32: the two commands are `make demo` and `make test`; everything else is a step of them.
SHELL := /bin/bash
NPX := npx --no-install

.PHONY: setup build firmware typecheck lint test bench clean

## setup: install the exact dependencies of package-lock.json (only when it changed)
setup: node_modules/.syfala-setup
node_modules/.syfala-setup: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

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

## test: typecheck, lint, the firmware build (its gate and budget) and the vitest suites
test: setup typecheck lint firmware
	$(NPX) vitest run

## bench: the benchmarks of bench/, each against a baseline measured in the same run
bench: setup
	$(NPX) tsx bench/run.ts

clean:
	rm -rf build

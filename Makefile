# The two commands (see README): `make dev` and `make test`.
.PHONY: dev test build tools bench fuzz

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

build:
	bash scripts/tools.sh
	bash scripts/build.sh

bench:
	bash scripts/bench.sh

tools:
	bash scripts/tools.sh --browser

# Not part of make test: every parser of outside input under libFuzzer (FUZZ_SECONDS each, default 60).
fuzz:
	bash scripts/fuzz.sh

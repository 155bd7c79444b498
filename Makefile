# The two commands (see README): `make dev` and `make test`.
.PHONY: dev test build tools bench

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

# The two commands (see README): `make dev` and `make test`.
.PHONY: dev test build tools

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

build:
	bash scripts/tools.sh
	bash scripts/build.sh

tools:
	bash scripts/tools.sh --browser

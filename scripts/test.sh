#!/usr/bin/env bash
# `make test`: install what is missing, build, run host unit tests, then the
# end-to-end tests against the real Workers runtime (wrangler dev / workerd)
# and real headless Chromium.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
bash scripts/tools.sh --browser
bash scripts/build.sh
printf '\n==> host unit tests\n'
cargo test --workspace --quiet
printf '\n==> end-to-end tests (wrangler dev + stand-ins + chromium)\n'
# One file at a time: each starts its own gateway on free ports.
node --test --test-concurrency=1 tests/standins/*.selftest.mjs tests/e2e/*.test.mjs

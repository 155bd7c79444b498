#!/usr/bin/env bash
# `make test`: install what is missing, check formatting, lints and the
# gateway's layout rules, build, run host unit tests, then the end-to-end tests against the real Workers runtime (wrangler dev / workerd)
# and real headless Chromium.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
bash scripts/tools.sh --browser
printf '\n==> static checks: rustfmt, clippy, layout rules\n'
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
python3 scripts/layout.py --check gateway/src
python3 scripts/layout.py --check portal/src
bash scripts/build.sh
printf '\n==> host unit tests\n'
cargo test --workspace --quiet
printf '\n==> end-to-end tests (wrangler dev + stand-ins + chromium)\n'
# One file at a time: each starts its own gateway on free ports.
node --test --test-concurrency=1 tests/standins/*.selftest.mjs tests/e2e/*.test.mjs

#!/usr/bin/env bash
# Installs whatever is missing, from package registries only (crates.io, npm,
# Debian): the wasm target, wasm-bindgen-cli and worker-build at their pinned
# versions, the npm tools (wrangler, Node 22, binaryen, playwright-core,
# axe-core) and, with --browser, Debian's Chromium. Quick when all is there.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

step() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    step "rustup component add $component"
    rustup component add "$component"
  fi
done

pids=()
# Both tools are installed as debug builds: they compile in ~3 minutes
# instead of ~7 and ~19 (measured on 2 cores), and their output is
# byte-identical; wasm-bindgen then takes ~2 s instead of ~0.5 s per build.
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock. Not --locked:
# its lock file wants a webpki-roots release the registry lacks.
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once per machine)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --debug --quiet &
  pids+=($!)
fi
if ! (worker-build --version 2>/dev/null || true) | grep -q "$WORKER_BUILD_VERSION"; then
  step "cargo install worker-build $WORKER_BUILD_VERSION (a few minutes, once per machine)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --debug --quiet &
  pids+=($!)
fi

# `npm install`, not `npm ci`: the lock file names workerd builds for other
# platforms that the registry here lacks.
if [ ! -f node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm install (wrangler, node 22, binaryen, playwright-core, axe-core)"
  npm install --no-audit --no-fund --loglevel=error
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "apt-get install chromium (for the portal's browser tests)"
  sudo_cmd=""
  [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

for p in "${pids[@]}"; do wait "$p"; done
echo "tools: wasm-bindgen $(wasm-bindgen --version | cut -d' ' -f2), $(worker-build --version 2>&1 | head -1), wrangler $(wrangler --version 2>/dev/null | tail -1), node $(node --version)"

#!/usr/bin/env bash
# `make bench`: release builds, the tools the benchmarks use (wrk from Debian,
# the reference SMART client from npm), then scripts/bench.mjs, which starts
# everything on loopback, measures, stops it all and prints the table.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
bash scripts/tools.sh
if ! command -v wrk >/dev/null 2>&1; then
  echo "==> apt-get install wrk (HTTP load for the edge figures)"
  sudo_cmd=""
  [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
if [ ! -d tests/reference-client/node_modules/fhirclient ]; then
  echo "==> npm install fhirclient (the reference SMART client, bench only)"
  npm install --prefix tests/reference-client --no-audit --no-fund --loglevel=error
fi
bash scripts/build.sh
echo "==> the minimal Rust Worker (startup reference, bench only)"
(
  cd tests/minimal-worker
  export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
  export WASM_OPT_BIN="$VISITGATE_ROOT/node_modules/binaryen/bin/wasm-opt"
  export ESBUILD_BIN="$VISITGATE_ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
  worker-build --release >/dev/null
)
node scripts/bench.mjs

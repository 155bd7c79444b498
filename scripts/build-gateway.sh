#!/usr/bin/env bash
# Builds the Worker bundle (gateway/build/). wrangler's [build]
# command; skips itself when VISITGATE_SKIP_BUILD=1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${VISITGATE_SKIP_BUILD:-0}" = "1" ] && [ -f "$root/gateway/build/index.js" ]; then
  exit 0
fi
source "$root/scripts/env.sh"
cd "$root/gateway"
# worker-build would download wasm-bindgen, wasm-opt and esbuild from GitHub;
# point it at the pinned copies instead.
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$root/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
worker-build --release
# worker-build keeps the wasm names section (debug names, ~370 KiB raw);
# the Worker does not need it, and size is cold start.
"$WASM_OPT_BIN" --strip-debug --strip-producers --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue --enable-exception-handling \
  build/index_bg.wasm -o build/index_bg.wasm

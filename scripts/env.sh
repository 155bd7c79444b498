# Sourced by the scripts: pinned tool versions and PATH (node_modules/.bin
# first, so `node` is the pinned Node 22 that wrangler needs).
VISITGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WASM_BINDGEN_VERSION=0.2.130
export WORKER_BUILD_VERSION=0.8.7
export PATH="$VISITGATE_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false

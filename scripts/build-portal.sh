#!/usr/bin/env bash
# Builds the admin portal into portal/dist/admin/ (served by the gateway under /admin/).
#
#   scripts/build-portal.sh
#
# Route (see TOOLCHAIN.md, "The portal"): cargo → wasm-bindgen (on PATH, must
# match the pinned wasm-bindgen crate) → wasm-opt from the npm package
# binaryen (never Debian's binaryen: its output crashes Chromium) → static files.
# Environment: PORTAL_TARGET_DIR (default target/portal) is where it builds; WASM_BINDGEN_BIN / WASM_OPT_BIN
# override the tools.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

want_bindgen="0.2.130"
wasm_bindgen="${WASM_BINDGEN_BIN:-wasm-bindgen}"
wasm_opt="${WASM_OPT_BIN:-$root/node_modules/binaryen/bin/wasm-opt}"
target_dir="${PORTAL_TARGET_DIR:-$root/target/portal}"
out="$root/portal/dist/admin"

die() { echo "build-portal: $*" >&2; exit 1; }

command -v "$wasm_bindgen" >/dev/null 2>&1 \
  || die "wasm-bindgen not found. Install it with: cargo install wasm-bindgen-cli --version $want_bindgen (without --locked)"
have_bindgen="$("$wasm_bindgen" --version | awk '{print $2}')"
[ "$have_bindgen" = "$want_bindgen" ] \
  || die "wasm-bindgen on PATH is $have_bindgen, but the workspace pins wasm-bindgen =$want_bindgen; install: cargo install wasm-bindgen-cli --version $want_bindgen"
[ -x "$wasm_opt" ] \
  || die "$wasm_opt not found: run 'npm install' in $root (binaryen from npm; do not use Debian's binaryen)"
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || die "the wasm32-unknown-unknown target is missing: rustup target add wasm32-unknown-unknown"
fi

# The workspace profile has `strip = true`, which also drops the wasm
# `target_features` section wasm-bindgen reads to see which features (e.g.
# reference types) it may use. Strip only debug info here; wasm-opt removes
# the rest below.
export CARGO_PROFILE_RELEASE_STRIP="${CARGO_PROFILE_RELEASE_STRIP:-debuginfo}"

# Leptos' `erase_components` type-erases each component's view: much less
# monomorphised code, so a smaller wasm (first load) and a faster build. Its
# own target dir, so these flags never invalidate the gateway's build.
export CARGO_TARGET_DIR="$target_dir"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg erase_components"
echo "build-portal: cargo build (release, wasm32, erase_components)" >&2
cargo build --release --target wasm32-unknown-unknown -p portal

rm -rf "$out"
mkdir -p "$out"

echo "build-portal: wasm-bindgen" >&2
"$wasm_bindgen" --target web --no-typescript --out-dir "$out" \
  "$target_dir/wasm32-unknown-unknown/release/portal.wasm"

# rustc ≥ 1.87 emits bulk-memory and nontrapping-fptoint on top of the older
# defaults (sign-ext, mutable-globals, multivalue, reference-types); wasm-opt
# rejects a module that uses a feature it was not told about.
echo "build-portal: wasm-opt -Oz" >&2
"$wasm_opt" -Oz \
  --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
  --strip-debug --strip-producers --strip-target-features \
  "$out/portal_bg.wasm" -o "$out/portal_bg.wasm"

cp -R "$root/portal/static/." "$out/"

# First-load size: everything the browser fetches for /admin/ except index.html.
first_load=("$out/portal_bg.wasm" "$out/portal.js" "$out/boot.js" "$out/style.css")
raw=0; gz=0; br=0
for f in "${first_load[@]}"; do
  raw=$((raw + $(wc -c <"$f")))
  gz=$((gz + $(gzip -9c "$f" | wc -c)))
  if command -v brotli >/dev/null 2>&1; then
    br=$((br + $(brotli -c -q 11 "$f" | wc -c)))
  else
    br=$((br + $(node -e 'const z=require("zlib"),fs=require("fs");
      process.stdout.write(String(z.brotliCompressSync(fs.readFileSync(process.argv[1]),
        {params:{[z.constants.BROTLI_PARAM_QUALITY]:11}}).length))' "$f")))
  fi
done
kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
echo "portal first load: wasm+js+css = $(kib $raw) KiB raw, $(kib $gz) KiB gzip, $(kib $br) KiB brotli (budget 150 KiB brotli)"

#!/usr/bin/env bash
# Prints the figures CI reports: gateway wasm (raw, gzip) and the portal's
# first load (wasm + js + css; gzip and brotli), against their budgets.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VISITGATE_ROOT"
node - <<'JS'
const fs = require('fs'), zlib = require('zlib'), path = require('path');
const kib = n => (n / 1024).toFixed(1);
const sum = (files, f) => files.reduce((a, p) => a + f(fs.readFileSync(p)), 0);
const gz = b => zlib.gzipSync(b, { level: 9 }).length;
const br = b => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const wasmDir = 'gateway/build';
const gw = fs.readdirSync(wasmDir).filter(f => f.endsWith('.wasm')).map(f => path.join(wasmDir, f));
const gwGz = sum(gw, gz);
console.log(`gateway wasm: ${kib(sum(gw, b => b.length))} KiB raw, ${kib(gwGz)} KiB gzip (budget 450 KiB gzip${gwGz > 450 * 1024 ? ' — OVER' : ''})`);
const dist = 'portal/dist/admin';
const first = fs.readdirSync(dist).filter(f => /\.(wasm|js|css)$/.test(f)).map(f => path.join(dist, f));
const pBr = sum(first, br);
console.log(`portal first load (${first.map(p => path.basename(p)).join(' + ')}): ${kib(sum(first, b => b.length))} KiB raw, ${kib(sum(first, gz))} KiB gzip, ${kib(pBr)} KiB brotli (budget 150 KiB brotli${pBr > 150 * 1024 ? ' — OVER' : ''})`);
JS

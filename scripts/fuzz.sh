#!/usr/bin/env bash
# make fuzz: every fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS each
# (default 60), then a line per target with its executions and crashes.
# Not part of make test. cargo-fuzz comes from crates.io; libFuzzer's -Z
# flags are allowed on the stable toolchain with RUSTC_BOOTSTRAP=1 (the
# only toolchain here). A crash's input lands in fuzz/artifacts/<target>/;
# add it to fuzz/seeds/<target>/ and a unit test once fixed.
# Built as the Worker is (release, -O: no debug assertions) but with
# overflow checks on: idna's own debug assertions fire on hosts that the
# Unicode-free adapter the lock file pins cannot map, which the release
# build handles; the inputs that found them are refused before parsing and
# are regression tests in shared::fhir_url.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-60}"
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="${RUSTFLAGS:-} -Coverflow-checks=on"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target/fuzz}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> cargo install cargo-fuzz (crates.io)"
  cargo install --locked cargo-fuzz@0.13.2
fi
targets=$(cd fuzz && cargo fuzz list)
echo "==> building the fuzz targets"
mkdir -p "$CARGO_TARGET_DIR"
if ! (cd fuzz && cargo fuzz build -O --sanitizer address >"$CARGO_TARGET_DIR/fuzz-build.log" 2>&1); then
  tail -40 "$CARGO_TARGET_DIR/fuzz-build.log"; exit 1
fi
failed=0
summary=()
for t in $targets; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
  log="$CARGO_TARGET_DIR/fuzz-$t.log"
  echo "==> $t for ${SECONDS_EACH}s"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  if (cd fuzz && cargo fuzz run -O --sanitizer address "$t" "../$corpus" "${seeds[@]/#/../}" -- \
        -max_total_time="$SECONDS_EACH" -max_len=8192 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1); then :; else failed=1; fi
  after=$(ls "fuzz/artifacts/$t" | wc -l)
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  summary+=("$(printf '%-14s %12s executions  coverage %5s  crashes %d' "$t" "$runs" "$cov" "$((after - before))")")
  if [ "$after" -gt "$before" ]; then failed=1; tail -30 "$log"; fi
done
echo
echo "fuzz summary (${SECONDS_EACH}s per target):"
printf '  %s\n' "${summary[@]}"
exit $failed

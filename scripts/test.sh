#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine, then runs every
# check: format, lints, all tests (unit, integration, CLI, tamper, crash,
# hostile names, logs, test vectors) and a short fuzzing run of each target.
#
#   COFFER_FUZZ_SECONDS   seconds per fuzz target (default 20; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
command -v make >/dev/null || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== tests"
cargo test --locked --workspace

FUZZ_SECONDS=${COFFER_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "== fuzzing, ${FUZZ_SECONDS}s per target"
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
  # cargo-fuzz needs nightly flags (sanitizers, coverage); the machine has one
  # stable toolchain, which accepts them under RUSTC_BOOTSTRAP.
  for target in vault_header blob metadata; do
    mkdir -p "fuzz/corpus/$target"
    log=$(mktemp)
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
      -- -max_total_time="$FUZZ_SECONDS" -max_len=200000 >"$log" 2>&1; then
      tail -60 "$log"
      echo "fuzz target $target failed"
      exit 1
    fi
    echo "$target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1)"
    rm -f "$log"
  done
fi
echo "== all checks passed"

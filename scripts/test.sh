#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine, then runs every
# check: format, lints, all Rust tests (core, CLI, tamper, crash, hostile names,
# logs, vectors, and the desktop app's commands and ACL through tauri::test),
# the isolation hook under Node, the real app end to end under Xvfb through
# tauri-driver and WebKitWebDriver, the .deb package installed and started
# (and a coffer installed before the run still installed after it), and a
# short fuzzing run of each target.
#
#   COFFER_FUZZ_SECONDS   seconds per fuzz target (default 20; 0 skips fuzzing)
#   COFFER_SKIP_PACKAGE   1 skips building and installing the .deb
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "dependencies"
# Debian packages: a C toolchain for SQLite and ring, WebKitGTK's development
# files for Tauri, Xvfb for a display, WebKitWebDriver for the end-to-end tests,
# strace to kill `coffer` at chosen system calls (tests/kill_points.rs),
# tmux and `script` (bsdutils) to run `coffer` at a terminal
# (tests/shell.rs, tests/human.rs), Debian's age to open shares
# (tests/share.rs), time for peak memory, rpm and cpio to check the .rpm.
apt_pkgs=(gcc libc6-dev make pkg-config libwebkit2gtk-4.1-dev xvfb xauth webkit2gtk-driver strace tmux bsdutils age time rpm cpio)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
command -v tauri-driver >/dev/null || cargo install --locked tauri-driver
# The Tauri CLI (bundler) from npm, pinned by package-lock.json.
# (`npm install`, not `npm ci`: npm 11 writes a lock file without the other
# platforms' optional packages and then refuses it in `npm ci`. The version is
# pinned exactly in package.json, and the lock file keeps its integrity hash.)
npm install --no-audit --no-fund --loglevel=error

step "format"
cargo fmt --all -- --check
step "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked --features e2e --lib -- -D warnings
step "Rust tests (core, CLI, desktop commands and ACL)"
cargo test --locked --workspace
step "isolation hook (Node)"
node --test webtests/hook.test.mjs webtests/isolation-race.test.mjs

step "end to end: the real app under Xvfb"
# A release build with the scripted dialogs; the package below is built
# without them.
cargo build --locked --release --features e2e --bin coffer-desktop
mkdir -p target/e2e
cp target/release/coffer-desktop target/e2e/coffer-desktop
COFFER_E2E_APP="$PWD/target/e2e/coffer-desktop" COFFER_E2E_REPORT="$PWD/target/e2e/report.json" \
  node --test --test-concurrency=1 webtests/e2e.test.mjs
cat target/e2e/report.json

step "preview window: from memory, no IPC, no trace on disk"
# Seeded through the CLI; previews text, an image and a PDF, then scans every
# folder the app can write for the documents' sentinel.
cargo build --locked --release -p coffer-cli
COFFER_E2E_APP="$PWD/target/e2e/coffer-desktop" COFFER_CLI="$PWD/target/release/coffer" \
  node --test --test-concurrency=1 webtests/preview.test.mjs

step "scale: a vault of ${COFFER_SCALE_DOCS:=10000} documents in the real app"
# Seeded through the CLI; measured, never timed against a limit. The README's
# figures use COFFER_SCALE_DOCS=100000.
cargo build --locked --release -p coffer-cli
COFFER_E2E_APP="$PWD/target/e2e/coffer-desktop" COFFER_CLI="$PWD/target/release/coffer" \
  COFFER_SCALE_DOCS="$COFFER_SCALE_DOCS" COFFER_SCALE_REPORT="$PWD/target/e2e/scale.json" \
  node --test --test-concurrency=1 webtests/scale.test.mjs
cat target/e2e/scale.json

if [ "${COFFER_SKIP_PACKAGE:-0}" != 1 ]; then
  step "package: build the .deb, install it, start it"
  ./scripts/package.sh
  ./scripts/check-package.sh
  ./scripts/check-rpm.sh
  step "package: checking it leaves an installed coffer alone"
  ./scripts/test-package-check.sh
fi

FUZZ_SECONDS=${COFFER_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  step "fuzzing, ${FUZZ_SECONDS}s per target"
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
step "all checks passed"

#!/usr/bin/env bash
# Builds and installs the `coffer` command (into ~/.cargo/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cc >/dev/null; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev
fi
cargo install --locked --path crates/coffer-cli
echo "installed: $(command -v coffer || echo ~/.cargo/bin/coffer)"

#!/usr/bin/env bash
# Builds Coffer's Debian package (the desktop app `coffer-desktop` and the
# `coffer` CLI) and installs it with apt, with every build dependency it needs
# on a fresh Debian 12 machine (with Rust and Node.js).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
pkgs=(gcc libc6-dev make pkg-config libwebkit2gtk-4.1-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
./scripts/package.sh
deb=$(ls target/release/bundle/deb/coffer_*_*.deb | head -1)
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "./$deb"
echo "installed: $(command -v coffer-desktop) (desktop app) and $(command -v coffer) (CLI)"

#!/usr/bin/env bash
# Builds Coffer's Debian package with the Tauri CLI (from npm, pinned by
# package-lock.json): the desktop app `coffer-desktop` and the `coffer` CLI,
# release builds, no test feature. Output: target/release/bundle/deb/coffer_<version>_<arch>.deb
# and, for Fedora and openSUSE, target/release/bundle/rpm/coffer-<version>-1.<arch>.rpm
#
# An AppImage needs Tauri's AppImage tools, which the bundler downloads at
# build time; where the network allows it: `npx tauri build --bundles appimage`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@tauri-apps/cli ] && [ -d node_modules/pdfjs-dist ] || npm install --no-audit --no-fund --loglevel=error
npx --no-install tauri build --bundles deb,rpm --ci
ls -l target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm

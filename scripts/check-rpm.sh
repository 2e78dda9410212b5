#!/usr/bin/env bash
# Checks the .rpm that scripts/package.sh built beside the .deb: its file list
# (`rpm -qpl`) holds both programs, the manual page, the completions and the
# desktop entry, and its metadata names Coffer. Debian cannot install it; the
# .deb check (check-package.sh) runs the same binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
rpm=${1:-$(ls target/release/bundle/rpm/coffer-*.rpm | head -1)}
case "$rpm" in /*) ;; *) rpm="$PWD/$rpm" ;; esac
echo "rpm: $rpm ($(du -h "$rpm" | cut -f1))"
list=$(rpm -qpl "$rpm" 2>/dev/null)
for f in /usr/bin/coffer-desktop /usr/bin/coffer /usr/share/man/man1/coffer.1.gz \
  /usr/share/bash-completion/completions/coffer /usr/share/zsh/site-functions/_coffer \
  /usr/share/fish/vendor_completions.d/coffer.fish /usr/share/applications/coffer.desktop; do
  grep -qx "$f" <<<"$list" || { echo "missing from the rpm: $f"; echo "$list"; exit 1; }
done
rpm -qpi "$rpm" 2>/dev/null | grep -q '^Name *: coffer' || { echo "the rpm is not named coffer"; exit 1; }
# The e2e build's scripted dialogs must never ship.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Debian's rpm2cpio (rpm 4.18) exits 1 on Tauri's package although it writes
# the whole payload: the extraction is checked instead.
rpm2cpio "$rpm" > "$tmp/payload.cpio" || true
(cd "$tmp" && cpio -id --quiet ./usr/bin/coffer-desktop < payload.cpio)
[ -s "$tmp/usr/bin/coffer-desktop" ] || { echo "the rpm's app could not be extracted"; exit 1; }
if grep -q COFFER_E2E_DIALOGS "$tmp/usr/bin/coffer-desktop"; then echo "the rpm's app is a test build"; exit 1; fi
echo "rpm contents ok: $(wc -l <<<"$list") files"

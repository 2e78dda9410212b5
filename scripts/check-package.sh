#!/usr/bin/env bash
# Checks the built .deb: no test-only code inside, the expected files, then
# installs it with apt, starts the installed app under Xvfb through
# tauri-driver (webtests/installed.test.mjs), and removes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/release/bundle/deb/coffer_*_*.deb | head -1)
echo "package: $deb ($(du -h "$deb" | cut -f1))"

# The scripted dialogs of the e2e build must not be in what ships.
if grep -q COFFER_E2E_DIALOGS target/release/coffer-desktop; then
  echo "the release binary contains the test-only dialog stub"; exit 1
fi
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/coffer-desktop ./usr/bin/coffer ./usr/share/applications/coffer.desktop; do
  grep -qE " (\./)?${f#./}\$" <<<"$contents" || { echo "missing from the package: $f"; echo "$contents"; exit 1; }
done
if dpkg-deb -x "$deb" /tmp/coffer-deb-check && grep -rq COFFER_E2E_DIALOGS /tmp/coffer-deb-check; then
  echo "the package contains the test-only dialog stub"; exit 1
fi
rm -rf /tmp/coffer-deb-check

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "./$deb" >/dev/null
trap 'DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq coffer >/dev/null || true' EXIT
/usr/bin/coffer --version
/usr/bin/coffer policy | head -3
COFFER_E2E_APP=/usr/bin/coffer-desktop node --test webtests/installed.test.mjs
echo "package installs and starts"

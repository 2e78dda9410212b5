#!/usr/bin/env bash
# Proves that scripts/check-package.sh leaves an installed Coffer alone: with
# a `coffer` package installed, it runs the check and asserts that the same
# package version is installed afterwards and `coffer --version` answers as
# before. Then leaves the machine's packages as it found them.
#
#   scripts/test-package-check.sh [DEB]
#
# If no coffer package is installed, DEB (default: the one scripts/package.sh
# built) is installed with apt first and removed at the end. If one is
# installed already (the user's own), it is used as it is: replacing it would
# itself change what the user has.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls target/release/bundle/deb/coffer_*_*.deb | head -1)}
case "$deb" in /*) ;; *) deb="$PWD/$deb" ;; esac
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

status() { dpkg-query -W -f='${Status} ${Version}' coffer 2>/dev/null || true; }
# Any state in which a coffer package is on the machine counts as the user's.
present() {
  local st
  st=$(dpkg-query -W -f='${db:Status-Status}' coffer 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != not-installed ] && [ "$st" != config-files ]
}
start=$(status)
was_present=0; present && was_present=1
if [ "$was_present" = 0 ]; then
  trap 'DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq coffer >/dev/null || true' EXIT
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb" >/dev/null
fi
before=$(status)
version_before=$(coffer --version)
echo "installed before the check: ${before##* } ($version_before)"

./scripts/check-package.sh "$deb"

after=$(status)
version_after=$(coffer --version 2>&1) || { echo "FAIL: coffer no longer answers after the check"; exit 1; }
[ "$after" = "$before" ] || { echo "FAIL: the installed package changed: '$before' -> '$after'"; exit 1; }
[ "$version_after" = "$version_before" ] || { echo "FAIL: coffer --version changed: '$version_before' -> '$version_after'"; exit 1; }
echo "the installed coffer ${after##* } survived the package check"

if [ "$was_present" = 0 ]; then
  trap - EXIT
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq coffer >/dev/null
  ! present || { echo "FAIL: coffer is still installed"; exit 1; }
  echo "removed the package this test installed: the machine is as it was"
fi

#!/usr/bin/env bash
# Checks a built .deb (default: the one scripts/package.sh built) and leaves
# the machine's packages as it found them:
#
# - always: no test-only code inside; the binaries, the desktop entry, the
#   manual page and the bash/zsh/fish completions are in it;
# - if no `coffer` package is installed: installs it with apt, runs the
#   installed `coffer`, starts the installed app under Xvfb through
#   tauri-driver (webtests/installed.test.mjs), and removes it on exit;
# - if a `coffer` package is installed (the user's own, say after
#   scripts/install.sh): never touches it; the package is unpacked into a
#   throwaway root (dpkg-deb -x) and its binaries run from there instead.
#
#   scripts/check-package.sh [DEB]
#   COFFER_CHECK_NO_GUI=1   skip starting the desktop app (for checking this
#                           script with a hand-made package; see
#                           scripts/test-package-check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls target/release/bundle/deb/coffer_*_*.deb | head -1)}
case "$deb" in /*) ;; *) deb="$PWD/$deb" ;; esac
echo "package: $deb ($(du -h "$deb" | cut -f1))"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# The scripted dialogs of the e2e build must not be in what ships.
if [ -f target/release/coffer-desktop ] && grep -q COFFER_E2E_DIALOGS target/release/coffer-desktop; then
  echo "the release binary contains the test-only dialog stub"; exit 1
fi
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/coffer-desktop ./usr/bin/coffer ./usr/share/applications/coffer.desktop \
  ./usr/share/man/man1/coffer.1.gz ./usr/share/bash-completion/completions/coffer \
  ./usr/share/zsh/vendor-completions/_coffer ./usr/share/fish/vendor_completions.d/coffer.fish; do
  grep -qE " (\./)?${f#./}\$" <<<"$contents" || { echo "missing from the package: $f"; echo "$contents"; exit 1; }
done
dpkg-deb -x "$deb" "$root"
if grep -rq COFFER_E2E_DIALOGS "$root"; then
  echo "the package contains the test-only dialog stub"; exit 1
fi

# What the package holds: the manual page is gzipped roff naming the
# commands, the completions are for `coffer` (read from the unpacked copy:
# a system may exclude /usr/share/man from what dpkg installs).
check_files() { # PREFIX: where the package's /usr is (the throwaway root)
  local p=$1
  gzip -dc "$p/usr/share/man/man1/coffer.1.gz" | grep -q '^\.TH coffer 1' || { echo "the manual page is not coffer(1)"; exit 1; }
  gzip -dc "$p/usr/share/man/man1/coffer.1.gz" | grep -q 'coffer shell' || { echo "the manual page misses coffer shell"; exit 1; }
  grep -q '_coffer' "$p/usr/share/bash-completion/completions/coffer" || { echo "bad bash completion"; exit 1; }
  head -1 "$p/usr/share/zsh/vendor-completions/_coffer" | grep -q '^#compdef coffer' || { echo "bad zsh completion"; exit 1; }
  grep -q 'complete -c coffer' "$p/usr/share/fish/vendor_completions.d/coffer.fish" || { echo "bad fish completion"; exit 1; }
}

# Any state in which a coffer package is on the machine (installed, held,
# half-configured, waiting for triggers…) counts: only a machine without one
# gets the apt install and removal.
present() {
  local st
  st=$(dpkg-query -W -f='${db:Status-Status}' coffer 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != not-installed ] && [ "$st" != config-files ]
}
installed=$(dpkg-query -W -f='${Status} ${Version}' coffer 2>/dev/null || true)
if present; then
  echo "coffer ${installed##* } is installed: checking the package in a throwaway root, leaving it alone"
  "$root/usr/bin/coffer" --version
  "$root/usr/bin/coffer" policy | head -3
  check_files "$root"
  if [ "${COFFER_CHECK_NO_GUI:-0}" != 1 ]; then
    COFFER_E2E_APP="$root/usr/bin/coffer-desktop" node --test webtests/installed.test.mjs
  fi
  after=$(dpkg-query -W -f='${Status} ${Version}' coffer 2>/dev/null || true)
  [ "$after" = "$installed" ] || { echo "the installed coffer changed: $installed -> $after"; exit 1; }
  echo "package checked; the installed coffer ${installed##* } is untouched"
  exit 0
fi

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
trap 'rm -rf "$root"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq coffer >/dev/null || true' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb" >/dev/null
/usr/bin/coffer --version
/usr/bin/coffer policy | head -3
check_files "$root"
if [ "${COFFER_CHECK_NO_GUI:-0}" != 1 ]; then
  COFFER_E2E_APP=/usr/bin/coffer-desktop node --test webtests/installed.test.mjs
fi
echo "package installs and starts (removed again on exit)"

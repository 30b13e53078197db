#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (lesson-harness/browser), idempotently, plus the
# colour emoji font the lesson's "⏱" and "⏹" lines need in screenshots. Playwright drives chromium
# over its own pipe with executable_path=/usr/bin/chromium, so chromium-driver is not needed.
# Pin: Debian's archive serves only the newest build of a suite, so apt cannot pin the version;
# it is whatever bookworm-security serves. The tests were last run with TESTED below; the line
# printed names the installed version and says when it differs.
# Already installed: a no-op in milliseconds. Needs root (or password-less sudo); no stdin.
# Usage: bash kernel-setup/browser.sh
set -euo pipefail

TESTED="156.0.8078.79-1~deb12u1"   # chromium from bookworm-security
PACKAGES=(chromium fonts-noto-color-emoji libnss3-tools)  # certutil: a test's browser trusts a class's CA
export DEBIAN_FRONTEND=noninteractive
# shellcheck source=kernel-setup/progress.sh
source "$(dirname "${BASH_SOURCE[0]}")/progress.sh"
RETRY="bash kernel-setup/browser.sh"

version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p' || true; }
missing() { local p; for p in "${PACKAGES[@]}"; do [[ -n $(version "$p") ]] || echo "$p"; done; }
report() {
  local have note=""
  have=$(version chromium)
  [[ $have == "$TESTED" ]] || note=" (the tests were last run with $TESTED)"
  printf '==> chromium %s: %s%s\n' "$have" "$1" "$note"
}

todo=$(missing)
if [[ -z $todo && -x /usr/bin/chromium ]]; then report ready; exit 0; fi

SUDO=""
[[ $(id -u) == 0 ]] || SUDO="sudo -n"
apt_get() { $SUDO apt-get -q -y -o Dpkg::Use-Pty=0 "$@"; }

# Refresh the package lists only when they lack chromium (a fresh image), or when they name a
# build the mirror no longer serves (the install fails: refresh, then retry once).
install_packages() {
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt_get update; fi
  # shellcheck disable=SC2086  # $todo is a list of package names
  apt_get install --no-install-recommends $todo \
    || { apt_get update && apt_get install --no-install-recommends $todo; }
}
step "installing $(echo $todo) from Debian (apt-get)" "1-2 min" install_packages

report installed

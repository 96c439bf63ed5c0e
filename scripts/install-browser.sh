#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver (Debian `chromium`, `chromium-driver`) for the
# browser end-to-end tests (crates/server/tests/browser). Idempotent: does nothing when both
# binaries exist. Runs as root (CI) or through sudo when available; prints the versions.
set -euo pipefail

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "== installing chromium and chromium-driver"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-browser.sh: run as root (apt-get needs it)" >&2; exit 1; }
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
fi

# Debian's launcher prints a harmless shell error from /etc/chromium.d/dev-shm on stderr.
/usr/bin/chromium --version 2>/dev/null
/usr/bin/chromedriver --version

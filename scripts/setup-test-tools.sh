#!/usr/bin/env bash
# Installs what the API's tests need beyond npm packages: Debian's chromium for the dashboard's
# browser test (driven by playwright-core, which downloads no browser of its own). Idempotent:
# does nothing when /usr/bin/chromium is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-test-tools: no /usr/bin/chromium and no apt-get; the dashboard browser test will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "installing chromium (Debian package) for the dashboard browser test"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version 2>/dev/null || true

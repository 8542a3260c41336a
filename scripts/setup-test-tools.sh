#!/usr/bin/env bash
# Installs what the tests need beyond npm packages and scripts/setup.sh, each only when missing:
# - Debian's chromium for the dashboard's browser test (driven by playwright-core, which
#   downloads no browser of its own);
# - LibreOffice's headless Writer, Calc and Impress (the -nogui builds: no X11/GTK, ~300 MB
#   installed) so the Office-document test converts real .docx/.xlsx/.pptx files;
# - jq, which the demo's test pipes `demo --json` through.
# Never replaces a desktop LibreOffice: when `soffice` is on PATH it is used as it is.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "test tools: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), $(soffice --version 2>/dev/null | head -1 | cut -d' ' -f1-2), $(jq --version)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-test-tools: missing ${missing[*]} and no apt-get to install them: the dashboard browser test is skipped, the LibreOffice and demo tests fail" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup-test-tools: installing ${missing[*]} (Debian packages)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

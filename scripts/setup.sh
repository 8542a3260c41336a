#!/usr/bin/env bash
# Installs what media-processor needs on a fresh Debian/Ubuntu machine, idempotently:
# ffmpeg, libheif-examples (HEIC decoding) and redis-server from apt, Node 24 when the node on PATH is older than 22, and the
# npm dependencies. Safe to run again: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v heif-convert >/dev/null 2>&1 || missing+=(libheif-examples)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from apt"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || echo 0; }
if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 22 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing nodejs+npm from apt to bootstrap Node 24"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "setup: installing Node 24 from the npm registry (node on PATH is $(node --version 2>/dev/null || echo missing))"
  as_root npm i -g --prefix /usr/local node@24 >/dev/null
  hash -r
fi
export PATH="/usr/local/bin:$PATH"
echo "setup: node $(node --version), $(ffmpeg -version | head -1 | cut -d' ' -f1-3), $(redis-server --version | cut -d' ' -f1-3)"

# `npm install` rather than `npm ci`: @napi-rs/canvas lists prebuilt packages for platforms
# whose matching versions some registries (mirrors) lack, and npm ci refuses a lock file without
# them; with a lock file present npm install resolves the same versions and leaves it untouched.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install (from package-lock.json)"
  npm install --no-audit --no-fund --no-save --loglevel=error
fi

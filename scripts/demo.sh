#!/usr/bin/env bash
# The end-to-end demo of README.md: install what is missing, then process generated samples
# (or the files given as arguments) on the embedded local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
# Setup talks on stderr: stdout is the demo's own (`--json | jq`).
bash scripts/setup.sh >&2
export PATH="/usr/local/bin:$PATH"
export MALLOC_ARENA_MAX=2
exec node src/cli.ts demo "$@"

#!/usr/bin/env bash
# The test command of README.md (and of CI): install what is missing, typecheck, check the
# deployment artefacts when their checker exists, then run every test against real parts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-test-tools.sh
export PATH="/usr/local/bin:$PATH"
export MALLOC_ARENA_MAX=2
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== lint and format (biome ci: npm run format fixes what it can)"
npm run --silent lint
echo "== deployment artefacts"
bash scripts/check-deploy.sh
echo "== the Dockerfile's install-and-start steps, repeated on this host"
bash scripts/check-image-steps.sh
bash scripts/check-api-fuzz.sh
echo "== tests"
npm test

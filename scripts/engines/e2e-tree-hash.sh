#!/usr/bin/env bash
# The tree hash of what the Kubernetes e2e tests: the chart, the Dockerfile and .dockerignore, the
# compose file and the e2e scripts with their helpers, from the files as they are in the working
# tree. .ci/run runs scripts/e2e-kubernetes.sh only when it differs from .ci/kubernetes-e2e.passed,
# which the e2e writes after a pass (commit it with the change it passed on). The application's
# own code (src/, package*.json) is left out on purpose: every change to it would otherwise cost
# CI the cold Kubernetes build; the unit, e2e and compose runs cover it on every CI run.
#
#   bash scripts/engines/e2e-tree-hash.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
E2E_TESTED_PATHS=(charts Dockerfile .dockerignore docker-compose.media-processor.yml scripts/e2e-compose.sh scripts/e2e-kubernetes.sh scripts/engines)
# One line per tracked file: its blob hash (of the working-tree content) and path; the hash of
# those lines is the tree hash. Untracked files do not count: a clean clone has none.
git ls-files -z -- "${E2E_TESTED_PATHS[@]}" | sort -z | while IFS= read -r -d '' file; do
  printf '%s %s\n' "$(git hash-object -- "$file")" "$file"
done | git hash-object --stdin

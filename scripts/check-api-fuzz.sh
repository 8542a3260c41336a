#!/usr/bin/env bash
# Property-based fuzzing of the job API against its own OpenAPI document with schemathesis
# (PyPI): the embedded local stack (redis-server + S3/SQS emulator) is started, then the real
# `node src/cli.ts api` command against it with a random token, and schemathesis generates
# requests for every operation, follows the document's links (enqueue → get/cancel/retry),
# and checks each response. The run fails on any server error (5xx) or any response that does
# not match the document.
#
#   bash scripts/check-api-fuzz.sh                 (FUZZ_MAX_EXAMPLES=N, FUZZ_SEED=N to vary)
set -euo pipefail
echo "== API fuzzing: schemathesis against /api/openapi.json"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/usr/local/bin:$PATH"
WORK="$(mktemp -d /tmp/media-api-fuzz.XXXXXX)"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() { printf 'FAILED: %s\n' "$*" >&2; for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }; done; exit 1; }

# schemathesis 4 (the CLI flags below are its own); installed into the user's Python when missing.
if ! command -v st >/dev/null 2>&1 || ! st --version 2>/dev/null | grep -q "version 4\."; then
  echo "installing schemathesis from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis>=4,<5" || fail "pip install schemathesis"
  hash -r
fi
command -v st >/dev/null || fail "schemathesis installed but 'st' is not on PATH"

# The embedded local stack in the background until SIGTERM; its env goes to stack.json.
node --input-type=module -e '
  import { writeFileSync } from "node:fs";
  import { startLocalStack } from "./src/dev/local-stack.ts";
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const stack = await startLocalStack();
  writeFileSync(process.argv[1], JSON.stringify(stack.env));
  process.once("SIGTERM", () => stack.stop().then(() => process.exit(0)));
' "$WORK/stack.json" >"$WORK/stack.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/stack.json" ] && break; sleep 0.2; done
[ -s "$WORK/stack.json" ] || fail "the local stack did not start"

PORT="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
TOKEN="fuzz-$(node -e 'console.log(require("node:crypto").randomBytes(24).toString("hex"))')"
BASE="http://127.0.0.1:$PORT"

# The real API command, configured like a deployment: env only.
(
  # shellcheck disable=SC2046
  export $(node -e 'const env = require(process.argv[1]); for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`)' "$WORK/stack.json")
  export API_PORT="$PORT" API_TOKEN="$TOKEN" REDIS_KEY_PREFIX="fuzz:" LOG_LEVEL="${FUZZ_LOG_LEVEL:-warn}"
  exec node src/cli.ts api
) >"$WORK/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$BASE/readyz" >/dev/null || fail "the API did not become ready on $BASE"

curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/openapi.json" -o "$WORK/openapi.json" || fail "could not read /api/openapi.json"
echo "fuzzing $BASE with schemathesis $(st --version | awk '{print $NF}')"

# Two allowances, for the rules JSON Schema cannot state: an event body can match the document
# and still name nothing to process (another bucket, a removal, an output key: 422) or carry an
# SNS `Message` that is not JSON inside its string (400); and a list may not combine `key` with
# `keyPrefix`, nor continue a time-ordered list with a key search's `k…` cursor or the reverse
# (400, naming the parameter).
cat >"$WORK/schemathesis.toml" <<'TOML'
[[operations]]
include-operation-id = "processS3Event"
checks.positive_data_acceptance.expected-statuses = [202, 400, 401, 422]

[[operations]]
include-operation-id = "listJobs"
checks.positive_data_acceptance.expected-statuses = [200, 400, 401]

# The application surface: keys must follow the deployment's TENANT_KEY_PATTERN (with tenantId
# and userId when it names them) and sizes stay within MAX_INPUT_BYTES, both configuration a
# JSON Schema cannot state (400 naming the rule, 413 upload-too-large).
[[operations]]
include-operation-id = "createUpload"
checks.positive_data_acceptance.expected-statuses = [201, 400, 401, 413]

[[operations]]
include-operation-id = "createMultipartUpload"
checks.positive_data_acceptance.expected-statuses = [201, 400, 401, 413]

[[operations]]
include-operation-id = "multipartPartUrls"
checks.positive_data_acceptance.expected-statuses = [200, 400, 401]

[[operations]]
include-operation-id = "abortMultipartUpload"
checks.positive_data_acceptance.expected-statuses = [204, 400, 401]

[[operations]]
include-operation-id = "confirmUpload"
checks.positive_data_acceptance.expected-statuses = [200, 202, 400, 401, 404, 413]

[[operations]]
include-operation-id = "deleteMediaItem"
checks.positive_data_acceptance.expected-statuses = [200, 400, 401, 404, 409]

# A parts list long enough to break the schema is also longer than API_BODY_LIMIT_BYTES (413).
[[operations]]
include-operation-id = "completeMultipartUpload"
checks.positive_data_acceptance.expected-statuses = [200, 202, 400, 401, 404, 413]
checks.negative_data_rejection.expected-statuses = [400, 401, 413, 415]
TOML

# Every check (ignored_auth included: /api refuses requests without the token) except
# use_after_free, which expects a DELETEd resource to be gone (404): DELETE /jobs/{id} cancels a
# job (the seed's contract), and the cancelled job stays readable with its timeline, by design.
# One worker: schemathesis's workers are threads, and CPython before 3.11.8 / 3.12.1 can raise a
# spurious "AST constructor recursion depth mismatch" when threads parse source at once
# (python/cpython#106905), which hypothesis does while describing strategies.
# Run from $WORK: schemathesis keeps a cache (.schemathesis/) in its working directory, which
# must not land in the repository.
set +e
(cd "$WORK" && st --config-file "$WORK/schemathesis.toml" run "$WORK/openapi.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --exclude-checks use_after_free \
  --max-examples "${FUZZ_MAX_EXAMPLES:-40}" \
  ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --request-timeout 10 \
  --workers 1 \
  --no-color) \
  >"$WORK/schemathesis.log" 2>&1
STATUS=$?
set -e
tail -n 60 "$WORK/schemathesis.log"
if grep -q '"level":"error"\|"level":50' "$WORK/api.log"; then
  echo "--- errors logged by the API:"; grep '"level":"error"' "$WORK/api.log" | tail -n 20
  fail "the API logged errors while fuzzed"
fi
[ "$STATUS" = 0 ] || fail "schemathesis found failures (exit $STATUS)"
echo "api fuzz: no server errors, every response matches the OpenAPI document"

import assert from "node:assert/strict";
import { test } from "node:test";
import { retryDelaySec } from "../../src/queue/backoff.ts";

/** The retry back-off (src/queue/backoff.ts), with the jitter drawn by a given random source. */

test("retry back-off grows exponentially with the receive count, jittered between half and all of it", () => {
  assert.equal(
    retryDelaySec(1, 30, 900, () => 0),
    15,
  );
  assert.equal(
    retryDelaySec(1, 30, 900, () => 1),
    30,
  );
  assert.equal(
    retryDelaySec(3, 30, 900, () => 1),
    120,
  );
});

test("retry back-off is capped, jitter included", () => {
  assert.equal(
    retryDelaySec(10, 30, 900, () => 1),
    900,
  );
  assert.equal(
    retryDelaySec(60, 30, 900, () => 0.5),
    675,
  );
});

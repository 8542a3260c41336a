import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor, waitForValue } from "../helpers/wait-for.ts";

/** The one polling helper the tests share: what it returns, how it fails, and what it does not swallow. */

test("waitForValue returns the first value that satisfies the condition", async () => {
  let reads = 0;
  const value = await waitForValue(
    () => ++reads,
    (n) => n >= 3,
    "three reads",
    5_000,
    1,
  );
  assert.deepEqual([value, reads], [3, 3]);
});

test("waitForValue fails the test at its timeout, describing the last value it read", async () => {
  await assert.rejects(
    waitForValue(
      () => "still queued",
      (status) => status === "completed",
      (last) => `the job completed; last: ${last}`,
      50,
      5,
    ),
    (error: unknown) =>
      error instanceof assert.AssertionError &&
      /timed out after 50 ms waiting: the job completed; last: still queued/.test(error.message),
  );
});

test("an error thrown by the read ends the wait at once instead of counting as not yet", async () => {
  let reads = 0;
  const broken = new Error("the API answered 500");
  await assert.rejects(
    waitForValue(
      () => {
        reads += 1;
        throw broken;
      },
      () => true,
      "never",
      5_000,
      1,
    ),
    broken,
  );
  assert.equal(reads, 1);
});

test("waitFor fails with its description when the check never holds", async () => {
  await assert.rejects(
    waitFor(() => false, "the queue drained", 30, 5),
    /timed out after 30 ms waiting: the queue drained/,
  );
});

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The one polling helper tests share. Every "poll until it holds" in the tests goes through
 * {@link waitForValue} (or {@link waitFor}, its yes/no form), so a timeout always fails the test the
 * same way: with what was awaited and, when the caller describes it, the last thing seen.
 */

/** What was awaited, for the failure message; a function is called with the last value read, at the timeout. */
export type Awaiting<T> = string | ((last: T | undefined) => string);

/**
 * Reads `read()` every `intervalMs` until `done` holds for what it returned, and returns that
 * value; fails the test with `what` when `timeoutMs` passes first. An error thrown by `read` ends
 * the wait at once (it is not a "not yet").
 */
export async function waitForValue<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: Awaiting<T>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await sleep(intervalMs);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting: ${typeof what === "string" ? what : what(last)}`);
}

/**
 * Polls `check` until it holds, failing the test with `what` when `timeoutMs` passes first (job
 * records have `stack.waitForJob`, API actions `t.waitForAction`, both built on waitForValue).
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string | (() => string),
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<void> {
  await waitForValue(check, (holds) => holds, typeof what === "string" ? what : () => what(), timeoutMs, intervalMs);
}

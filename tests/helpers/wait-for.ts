import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `check` until it holds, failing the test with `what` when `timeoutMs` passes first. The
 * one polling helper tests share (job records have `stack.waitForJob`; pages have their own).
 */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting: ${what}`);
}

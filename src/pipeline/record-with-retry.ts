import { setTimeout as sleep } from "node:timers/promises";

/**
 * Recording a finished job is the step that allows the message to be deleted, and its outputs
 * are already stored: a short Redis blip should not throw that work away. Retries for about
 * 30 s (the message's visibility heartbeat keeps running meanwhile), then gives up so the message
 * is kept and redelivered. A `false` result (a newer attempt owns the job) is returned as is.
 */
export async function recordWithRetry(
  record: () => Promise<boolean>,
  signal: AbortSignal,
  attempts = 20,
): Promise<boolean> {
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await record();
    } catch (error) {
      if (attempt >= attempts || (signal.aborted && signal.reason === "shutdown")) throw error;
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

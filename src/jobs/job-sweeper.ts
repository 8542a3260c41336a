import type { Logger } from "../logger.ts";
import type { JobStore } from "./job.store.ts";

/** One sweep call removes at most this many jobs (a short Redis script)… */
const SWEEP_BATCH = 500;
/** …and one tick at most this many batches, so a backlog after downtime is worked off in steps. */
const MAX_BATCHES_PER_TICK = 20;

/**
 * Runs the store's sweep (SWEEP in job-query.scripts.ts) every `intervalMs` in the background:
 * jobs past JOB_STATUS_TTL go, with every index entry, so Redis holds at most the jobs of one
 * TTL. Every worker and API process runs one; sweeps are atomic, so running several is safe.
 * A chained timeout, so a slow sweep never overlaps the next. Returns a stop function.
 */
export function startJobSweeper(store: JobStore, intervalMs: number, logger: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    let removed = 0;
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_TICK && !stopped; batch += 1) {
        const count = await store.sweep(SWEEP_BATCH);
        removed += count;
        if (count < SWEEP_BATCH) break;
      }
      if (removed > 0) logger.info({ removed }, "expired jobs swept");
    } catch (error) {
      logger.warn({ err: error }, "job sweep failed; retrying next interval");
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

import type { JobStore, ListCursor, ListQuery } from "../jobs/job.store.ts";
import type { Principal } from "./auth.ts";
import type { JobActions } from "./job-actions.ts";

/**
 * Bulk retry or cancel over every job a list filter matches (the console's "retry all failed
 * of this type", "cancel everything queued for this tenant"), run as a background action. It
 * pages through the filter's index by cursor, so jobs it moves out of the filter (failed →
 * queued) do not shift the pages, and each job goes through the same audited action a single
 * retry or cancel does: atomic, refused for a job in the wrong state (counted as skipped).
 */
export interface BulkRequest {
  action: "retry" | "cancel";
  filter: Omit<ListQuery, "limit" | "cursor">;
  force: boolean;
  maxJobs: number;
}

export interface BulkProgress {
  [name: string]: unknown;
  matched: number;
  done: number;
  skipped: number;
  failed: number;
  /** The first failures (dependency errors), for the operator. */
  errors: Array<{ jobId: string; message: string }>;
  complete: boolean;
}

const PAGE = 200;

export async function runBulkAction(
  store: JobStore,
  actions: JobActions,
  request: BulkRequest,
  principal: Principal,
  report: (progress: BulkProgress) => void,
): Promise<BulkProgress> {
  const progress: BulkProgress = { matched: 0, done: 0, skipped: 0, failed: 0, errors: [], complete: false };
  let cursor: ListCursor | undefined;
  while (progress.matched < request.maxJobs) {
    const page = await store.list({
      ...request.filter,
      limit: Math.min(PAGE, request.maxJobs - progress.matched),
      ...(cursor ? { cursor } : {}),
    });
    for (const job of page.jobs) {
      progress.matched += 1;
      try {
        const outcome =
          request.action === "retry"
            ? await actions.retry(job.id, request.force, principal, "bulk")
            : await actions.cancel(job.id, principal, "bulk");
        if (outcome.kind === "requeued" || outcome.kind === "cancelled" || outcome.kind === "cancel-requested")
          progress.done += 1;
        else progress.skipped += 1;
      } catch (error) {
        progress.failed += 1;
        if (progress.errors.length < 20)
          progress.errors.push({ jobId: job.id, message: error instanceof Error ? error.message : String(error) });
      }
    }
    report(progress);
    if (!page.nextCursor) {
      progress.complete = true;
      break;
    }
    cursor = page.nextCursor;
  }
  return progress;
}

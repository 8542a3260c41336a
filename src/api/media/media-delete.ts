import { isTerminal } from "../../jobs/job.model.ts";
import type { JobStore } from "../../jobs/job.store.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { manifestKey, outputLayout, runOf, sourceRunsPrefix } from "../../storage/output-keys.ts";
import type { Principal } from "../auth.ts";
import type { JobActions } from "../job-actions.ts";
import { jobsOfKey } from "./media-items.ts";

/**
 * Deleting a media item: every job of the key (all versions) is cancelled first if it is queued
 * or processing, and the delete waits until none is processing any more — a cancelled run removes
 * what it uploaded before it records `cancelled` (job.runner.ts), so nothing is written after
 * the delete. Then every output of every run of the key (they share the key's output prefix;
 * `runOf` keeps other sources whose names merely start the same), the manifest, optionally the
 * source, and last the job records. Everything is found from the key itself, so a delete that
 * failed half-way is finished by calling it again, and a second delete finds nothing (idempotent).
 */
export interface MediaDeleteDeps {
  store: JobStore;
  actions: JobActions;
  objects: ObjectStore;
  outputSegment: string;
  outputBucket: string | undefined;
  /** How long a delete waits for a running job to stop after its cancel. */
  waitMs: number;
  pollMs?: number;
}

export type DeleteOutcome =
  | { kind: "deleted"; jobs: number; outputs: number; source: boolean }
  /** A job still runs after `waitMs`: its cancel stays requested; call again. */
  | { kind: "still-running"; jobIds: string[] };

export async function deleteMediaItem(
  deps: MediaDeleteDeps,
  bucket: string,
  key: string,
  deleteSource: boolean,
  principal: Principal,
): Promise<DeleteOutcome> {
  const jobs = await jobsOfKey(deps.store, key);
  for (const job of jobs) if (!isTerminal(job.status)) await deps.actions.cancel(job.id, principal, "media-delete");
  const running = await waitUntilStopped(
    deps,
    jobs.map((job) => job.id),
  );
  if (running.length > 0) return { kind: "still-running", jobIds: running };

  const outputBucket = deps.outputBucket ?? bucket;
  const layout = layoutOf(key, deps.outputSegment);
  let outputs: string[] = [];
  let manifestListed = false;
  if (layout) {
    const listed = await deps.objects.list(outputBucket, sourceRunsPrefix(layout));
    outputs = listed
      .map((item) => item.key)
      .filter((candidate) => runOf(candidate, layout, deps.outputSegment) !== undefined);
    const manifest = manifestKey(layout);
    manifestListed = (await deps.objects.list(outputBucket, manifest)).some((item) => item.key === manifest);
    await deps.objects.deleteKeys(outputBucket, [...outputs, ...(manifestListed ? [manifest] : [])]);
  }
  let source = false;
  if (deleteSource) {
    source = (await deps.objects.list(bucket, key)).some((item) => item.key === key);
    if (source) await deps.objects.deleteKeys(bucket, [key]);
  }
  const kept = await deps.store.remove(jobs.map((job) => job.id));
  // A job that left its terminal state between the wait and the removal (a retry) is still running.
  if (kept.length > 0) return { kind: "still-running", jobIds: kept };
  return { kind: "deleted", jobs: jobs.length, outputs: outputs.length + (manifestListed ? 1 : 0), source };
}

/** The key's output layout; undefined for a key so long no run could have written outputs for it (output-key-too-long). */
function layoutOf(key: string, outputSegment: string) {
  try {
    return outputLayout(key, outputSegment, "0".repeat(8));
  } catch {
    return undefined;
  }
}

/** The ids still queued or processing once `waitMs` passed (empty as soon as all are terminal or gone). */
async function waitUntilStopped(deps: MediaDeleteDeps, ids: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + deps.waitMs;
  for (;;) {
    const summaries = await Promise.all(ids.map((id) => deps.store.summary(id)));
    const running = summaries.filter((job) => job !== undefined && !isTerminal(job.status)).map((job) => job!.id);
    if (running.length === 0 || Date.now() >= deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 200));
  }
}

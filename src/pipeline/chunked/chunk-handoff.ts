import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { transientError } from "../../errors.ts";
import type { JobStore } from "../../jobs/job.store.ts";
import type { Logger } from "../../logger.ts";
import type { ChunkPlan } from "../../processors/video/chunk-plan.ts";
import type { OutputLayout } from "../../storage/output-keys.ts";
import { buildChunkTask, partName, type ChunkTask } from "./chunk-task.ts";
import type { ChunkStore, StoredPlan } from "./chunk.store.ts";
import { plannedSourceKey, type ChunkSourceCache } from "./source-cache.ts";

/** SendMessageBatch takes at most ten entries. */
const BATCH = 10;

export interface HandOffRequest {
  jobId: string;
  leaseToken: string;
  attempt: number;
  startedAt: number;
  layout: OutputLayout;
  source: { eTag: string | undefined; versionId: string | undefined };
  plan: ChunkPlan;
  media: StoredPlan["media"];
  /** The source as the planner downloaded it: kept (source-cache.ts) for the tasks this worker takes. */
  inputPath?: string;
  /** The queue the job's event came from (its lane): the tasks run where the job would have. */
  queueUrl: string;
  signal: AbortSignal;
  step: (event: string, detail?: Record<string, unknown>) => void;
}

/**
 * The planner's side of a chunked video, in the order that makes a crash lose nothing:
 * plan in Redis → every task message sent → the job lease held for the tasks → (the caller)
 * delete the S3 event message. A crash before the last send leaves the event message; it comes
 * back, the job is claimed again (its lease lapses), the stored plan for the same source is
 * reused, and only the tasks not yet done are sent again — a duplicate task is dropped by the
 * done-set and the part leases.
 */
export class ChunkHandOff {
  private readonly deps: {
    sqs: SQSClient;
    store: JobStore;
    chunks: ChunkStore;
    /** How long the job lease is held for its tasks at a time (each running task renews it). */
    holdMs: number;
    logger: Logger;
    sources?: ChunkSourceCache;
  };

  constructor(deps: ChunkHandOff["deps"]) {
    this.deps = deps;
  }

  async handOff(request: HandOffRequest): Promise<void> {
    const { jobId, plan } = request;
    const { stored, reused } = await this.deps.chunks.save(jobId, {
      plan,
      leaseToken: request.leaseToken,
      run: request.layout.run,
      attempt: request.attempt,
      startedAt: request.startedAt,
      eTag: request.source.eTag,
      versionId: request.source.versionId,
      media: request.media,
    });
    // Before the first task can arrive: the one this worker takes finds the source already here.
    const kept = plannedSourceKey(jobId, stored);
    if (this.deps.sources && request.inputPath && kept) await this.deps.sources.adopt(kept, request.inputPath);
    const done = reused ? await this.deps.chunks.doneParts(jobId) : new Set<string>();
    const tasks = tasksOf(jobId, stored.planId, stored.plan).filter((task) => !done.has(partName(task)));
    for (let index = 0; index < tasks.length; index += BATCH) {
      const batch = tasks.slice(index, index + BATCH);
      const reply = await this.deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: request.queueUrl,
          Entries: batch.map((task, position) => ({ Id: String(position), MessageBody: buildChunkTask(task) })),
        }),
        { abortSignal: request.signal },
      );
      if (reply.Failed && reply.Failed.length > 0)
        throw transientError(
          "chunk-send-failed",
          `${reply.Failed.length} chunk task messages were not sent: ${reply.Failed[0]?.Message ?? "no reason given"}`,
        );
    }
    const renewal = await this.deps.store.renewLease(jobId, request.leaseToken, this.deps.holdMs);
    if (!renewal.held) this.deps.logger.warn({ jobId }, "chunked job: the lease had lapsed before the hand-off");
    request.step("chunks-sent", {
      chunks: stored.plan.chunks.length,
      sent: tasks.length,
      replanned: reused,
      planId: stored.planId,
    });
  }
}

/**
 * The audio task (`chunkIndex` = the number of chunks), one task per video chunk, and the stills
 * task (poster and storyboard, `chunkIndex` = chunks + 1).
 */
export function tasksOf(
  jobId: string,
  planId: string,
  plan: ChunkPlan,
): Array<Omit<ChunkTask, "mediaProcessor" | "version">> {
  const video = plan.chunks.map((chunk) => ({
    jobId,
    planId,
    part: "video" as const,
    chunkIndex: chunk.index,
    startSec: chunk.startSec,
    endSec: chunk.endSec ?? null,
  }));
  // Audio first: the video is playable once the audio and the first chunk are in. The stills
  // last: nothing waits for them but the stitch, and a short task evens out the workers' tails.
  return [
    { jobId, planId, part: "audio" as const, chunkIndex: plan.chunks.length, startSec: 0, endSec: null },
    ...video,
    { jobId, planId, part: "stills" as const, chunkIndex: plan.chunks.length + 1, startSec: 0, endSec: null },
  ];
}

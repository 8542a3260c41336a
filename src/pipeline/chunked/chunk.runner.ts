import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../../config/config.ts";
import { abortError, abortReasonOf, MediaError, toMediaError } from "../../errors.ts";
import type { JobEventPublisher, PublishOutcome } from "../../job-events/job-event.publisher.ts";
import { isTerminal } from "../../jobs/job.model.ts";
import type { JobListItem, JobStore } from "../../jobs/job.store.ts";
import type { Logger } from "../../logger.ts";
import { videoDurationBucket, type Metrics } from "../../metrics/metrics.ts";
import type { PartRecord } from "../../processors/video/chunk-playlists.ts";
import type { MessageAction } from "../../queue/media.consumer.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { outputLayout } from "../../storage/output-keys.ts";
import type { CancelRegistry } from "../cancel.registry.ts";
import { countAndLog } from "../fate-effects.ts";
import { createJobSignal } from "../job-signal.ts";
import { decide, receiveOf } from "../outcome.ts";
import { deleteRunOutputs } from "../publish-outputs.ts";
import { WrittenOutputs } from "../written-outputs.ts";
import { encodePart, type TaskContext } from "./chunk-encode.ts";
import { publishPlayable, stitchJob, type StitchRequest } from "./chunk-stitch.ts";
import { partName, type ChunkTask } from "./chunk-task.ts";
import type { ChunkStore, StoredPlan } from "./chunk.store.ts";
import type { ChunkSourceCache } from "./source-cache.ts";

export interface ChunkRunnerDeps {
  config: AppConfig;
  store: JobStore;
  chunks: ChunkStore;
  objects: ObjectStore;
  metrics: Metrics;
  cancels: CancelRegistry;
  jobEvents?: JobEventPublisher;
  logger: Logger;
  tempRoot: string;
  /** How long a running task holds the job lease at a time (ChunkHandOff's hold). */
  holdMs: number;
  /** Sources kept between the tasks of a job on this worker (source-cache.ts); absent: each task downloads. */
  sources?: ChunkSourceCache;
}

export interface ChunkDelivery {
  messageId: string;
  receiveCount: number;
  signal: AbortSignal;
}

/**
 * One chunk task of a chunked video (chunk-task.ts): look the job and its plan up, take the
 * part's lease, download the source (media tools only open local files), encode the part,
 * upload its segments under the job's run prefix with the keys the plan fixes, record it in the
 * done-set; the task that completes the set stitches and completes the job. Never throws: every
 * outcome is a message action.
 *
 * What can happen to a task, and what the message does:
 * - stale (no plan, another plan, no job), job already finished → delete
 * - cancel requested (or arriving mid-encode) → the job is cancelled once, outputs removed → delete
 * - part already done → delete (stitching first if the set is complete and nobody stitches)
 * - part leased by another live task → retry later (if that worker dies, this message redoes it)
 * - transient failure before the last receive → retry later, the job stays `processing`
 * - permanent failure, or transient on the last receive → the job fails once, naming the part
 * - shutdown → release (visible again, another worker redoes the part)
 */
export class ChunkRunner {
  private readonly deps: ChunkRunnerDeps;

  constructor(deps: ChunkRunnerDeps) {
    this.deps = deps;
  }

  async run(task: ChunkTask, delivery: ChunkDelivery): Promise<MessageAction> {
    const { config, chunks, store, metrics } = this.deps;
    const part = partName(task);
    const logger = this.deps.logger.child({ jobId: task.jobId, chunk: part, messageId: delivery.messageId });
    const receive = receiveOf(delivery.receiveCount, config.queue);
    let stored: StoredPlan | undefined;
    let job: JobListItem | undefined;
    try {
      [stored, job] = await Promise.all([chunks.load(task.jobId), store.summary(task.jobId)]);
    } catch (error) {
      logger.error({ err: error }, "chunk task: could not read its job (Redis unavailable?); message kept");
      return { action: "retry", delaySec: receive.retryDelaySec };
    }
    if (!job || !stored || stored.planId !== task.planId) {
      metrics.messagesDropped.inc({ reason: "stale-chunk" });
      logger.info({ found: job?.status ?? null }, "chunk task of a plan that no longer exists; removed");
      return { action: "delete" };
    }
    const context: TaskContext = {
      task,
      part,
      stored,
      job,
      layout: outputLayout(job.source.key, config.storage.outputSegment, stored.run),
      bucket: config.storage.outputBucket ?? job.source.bucket,
      receive,
      logger,
    };
    try {
      if (isTerminal(job.status)) {
        // A cancelled or failed job's stragglers: whatever they wrote goes with them.
        if (job.status !== "completed") await this.discard(context);
        return { action: "delete" };
      }
      if (job.cancelRequested) return await this.cancel(context);
      const done = await chunks.doneParts(task.jobId);
      if (done.has(part)) {
        if (done.size >= stored.total) return await this.finishIfLast(context, undefined, delivery.signal);
        metrics.messagesDropped.inc({ reason: "duplicate" });
        logger.info("chunk already done; duplicate removed");
        return { action: "delete" };
      }
    } catch (error) {
      logger.error({ err: error }, "chunk task: Redis or S3 failed before it started; message kept");
      return { action: "retry", delaySec: receive.retryDelaySec };
    }
    return this.work(context, delivery);
  }

  /** The part itself, under its lease, with the job's signal (cancel, shutdown, timeout). */
  private async work(context: TaskContext, delivery: ChunkDelivery): Promise<MessageAction> {
    const { config, chunks, store } = this.deps;
    const { task, part, stored, logger } = context;
    const token = randomUUID();
    if (!(await chunks.leasePart(task.jobId, part, token, config.jobs.leaseTtlMs).catch(() => false))) {
      logger.info("chunk is being encoded by another task; retrying later");
      return { action: "retry", delaySec: context.receive.retryDelaySec };
    }
    const jobSignal = createJobSignal(delivery.signal, config.jobs.processingTimeoutMs);
    const unregister = this.deps.cancels.register(task.jobId, jobSignal.cancel);
    const renew = setInterval(
      () => {
        void chunks.renewPart(task.jobId, part, token, config.jobs.leaseTtlMs).catch(() => false);
        store.renewLease(task.jobId, stored.leaseToken, this.deps.holdMs).then(
          (renewal) => {
            if (renewal.cancelRequested && !jobSignal.signal.aborted) jobSignal.cancel();
          },
          (error: unknown) => logger.warn({ err: error }, "chunk task: lease renewal failed"),
        );
      },
      Math.min(config.jobs.leaseRenewMs, Math.max(1_000, Math.floor(config.jobs.leaseTtlMs / 3))),
    );
    renew.unref();
    const workDir = path.join(this.deps.tempRoot, `${task.jobId}-${part}-${token.slice(0, 8)}`);
    const written = new WrittenOutputs();
    const signal = jobSignal.signal;
    try {
      const record = await encodePart(this.deps, context, { workDir, written, signal });
      const mark = await chunks.markDone(task.jobId, part, record, stored.total, token, config.jobs.leaseTtlMs);
      // The job's progress is the share of its parts done (the stitch takes it to 100 on completion).
      if (mark.done > 0)
        void store
          .setProgress(task.jobId, stored.leaseToken, Math.min(99, Math.round((mark.done / stored.total) * 100)))
          .catch(() => undefined);
      void store
        .appendTimeline(task.jobId, "chunk-encoded", {
          chunk: part,
          workerId: config.workerId,
          startedAt: new Date(record.startedAt).toISOString(),
          endedAt: new Date(record.endedAt).toISOString(),
          elapsedMs: record.endedAt - record.startedAt,
          segments: Object.values(record.segments)[0]?.length ?? 0,
          done: mark.done,
          of: stored.total,
        })
        .catch(() => undefined);
      if (mark.stitch) return await this.finishIfLast(context, token, signal);
      // The job may have ended (failed, cancelled) while this part uploaded: what it wrote goes too.
      // Its uploads are complete here, so either this check or the ender's own removal sees them.
      const now = await store.summary(task.jobId);
      if (mark.planGone || !now || (isTerminal(now.status) && now.status !== "completed")) {
        await this.discard(context);
        return { action: "delete" };
      }
      await this.publishEarly(context, signal);
      return { action: "delete" };
    } catch (caught) {
      const abortReason = abortReasonOf(signal);
      await written.settledKeys();
      if (abortReason === "cancelled") return await this.cancel(context).catch(() => ({ action: "delete" }) as const);
      if (abortReason === "shutdown") {
        logger.info("chunk task released on shutdown; message visible again");
        return { action: "release" };
      }
      const error = abortReason ? abortError(abortReason) : toMediaError(caught);
      return await this.failed(context, error);
    } finally {
      clearInterval(renew);
      unregister();
      jobSignal.dispose();
      await chunks.releasePart(task.jobId, part, token).catch(() => undefined);
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** The set is complete: stitch (holding the stitch lock) and complete the job, once. */
  private async finishIfLast(
    context: TaskContext,
    heldToken: string | undefined,
    signal: AbortSignal,
  ): Promise<MessageAction> {
    const { chunks, config } = this.deps;
    const token = heldToken ?? randomUUID();
    if (!heldToken) {
      // A redelivered task of a complete set: stitch only if no one else is (a dead stitcher's lock expires).
      const mark = await chunks.markDone(
        context.task.jobId,
        context.part,
        emptyRecord(),
        context.stored.total,
        token,
        config.jobs.leaseTtlMs,
      );
      if (!mark.stitch) return { action: "delete" };
    }
    try {
      const fresh = (await chunks.load(context.task.jobId)) ?? context.stored;
      const outcome = await stitchJob({ ...this.stitchRequest(context, signal), stored: fresh });
      if (outcome.kind === "lost") {
        // Cancelled or failed while stitching: its playlists and manifest go with the rest.
        const now = await this.deps.store.summary(context.task.jobId);
        if (now?.status !== "completed") await this.discard(context);
        return { action: "delete" };
      }
      const elapsedSec = (Date.now() - fresh.startedAt) / 1000;
      const duration = videoDurationBucket(fresh.plan.source.durationSec);
      this.deps.metrics.videoTimeToPublish.observe({ duration }, elapsedSec);
      if (!outcome.publishedEarly) this.deps.metrics.videoTimeToPlayable.observe({ duration }, elapsedSec);
      const fate = decide({
        event: { kind: "success" },
        receive: context.receive,
        recorded: "ok",
        publish: await this.publish(context),
      });
      countAndLog(
        fate,
        { metrics: this.deps.metrics, logger: context.logger },
        {
          type: "video",
          durationSec: (Date.now() - fresh.startedAt) / 1000,
          fields: { chunks: fresh.plan.chunks.length, outputs: outcome.outputs },
        },
      );
      await chunks.remove(context.task.jobId).catch(() => undefined);
      await this.deps.sources?.drop(context.task.jobId);
      return fate.messageAction;
    } catch (caught) {
      await chunks.releaseStitch(context.task.jobId, token).catch(() => undefined);
      const error = toMediaError(caught);
      context.logger.warn({ err: error }, "stitch failed; the message returns to try again");
      if (!error.retryable || context.receive.receiveCount >= context.receive.maxReceives)
        return this.failed(context, error);
      return { action: "retry", delaySec: context.receive.retryDelaySec };
    }
  }

  /** Playable before finished: growing EVENT playlists of the leading chunks (chunk-stitch.ts). Never fails the part. */
  private async publishEarly(context: TaskContext, signal: AbortSignal): Promise<void> {
    try {
      const published = await publishPlayable(this.stitchRequest(context, signal));
      if (published?.first)
        this.deps.metrics.videoTimeToPlayable.observe(
          { duration: videoDurationBucket(context.stored.plan.source.durationSec) },
          (Date.now() - context.stored.startedAt) / 1000,
        );
    } catch (error) {
      context.logger.warn({ err: error }, "early playlists could not be published; the stitch writes them");
    }
  }

  private stitchRequest(context: TaskContext, signal: AbortSignal): StitchRequest {
    return {
      config: this.deps.config,
      store: this.deps.store,
      chunks: this.deps.chunks,
      objects: this.deps.objects,
      stored: context.stored,
      job: context.job,
      layout: context.layout,
      bucket: context.bucket,
      signal,
      logger: context.logger,
    };
  }

  /** A failure of this part: retried alone while receives remain, else the job fails once, naming the part. */
  private async failed(context: TaskContext, error: MediaError): Promise<MessageAction> {
    const { store } = this.deps;
    const { task, receive, logger, stored } = context;
    if (error.retryable && receive.receiveCount < receive.maxReceives) {
      void store
        .appendTimeline(task.jobId, "chunk-retry-scheduled", {
          chunk: context.part,
          code: error.code,
          message: error.message,
          attempt: receive.receiveCount,
          delaySec: receive.retryDelaySec,
        })
        .catch(() => undefined);
      logger.warn({ code: error.code, category: error.category }, "chunk failed transiently; retrying it alone");
      return { action: "retry", delaySec: receive.retryDelaySec };
    }
    const named = new MediaError(`${describePart(context)}: ${error.message}`, {
      code: error.code,
      category: error.category,
      retryable: false,
      cause: error,
    });
    try {
      const applied = await store.fail(task.jobId, stored.leaseToken, named.toJobError(), stored.startedAt, {
        chunk: context.part,
      });
      await this.discard(context);
      if (!applied) return { action: "delete" };
      const fate = decide({
        event: { kind: "error", error: named },
        receive,
        recorded: "ok",
        publish: await this.publish(context),
      });
      countAndLog(
        fate,
        { metrics: this.deps.metrics, logger },
        {
          type: "video",
          fields: { code: named.code, category: named.category, message: named.message },
        },
      );
      return fate.messageAction;
    } catch (recordError) {
      logger.error({ err: recordError }, "could not record the chunk's failure; message kept");
      return { action: "retry", delaySec: receive.retryDelaySec };
    }
  }

  /** Cancel requested: the job becomes cancelled once (whichever task gets there first), its outputs and plan go. */
  private async cancel(context: TaskContext): Promise<MessageAction> {
    const { store } = this.deps;
    const { task, stored, logger } = context;
    const error = abortError("cancelled");
    const applied = await store.fail(task.jobId, stored.leaseToken, error.toJobError(), stored.startedAt, {
      chunk: context.part,
    });
    await this.discard(context);
    if (applied) {
      const fate = decide({
        event: { kind: "error", error },
        receive: context.receive,
        recorded: "ok",
        publish: await this.publish(context),
      });
      countAndLog(fate, { metrics: this.deps.metrics, logger }, { type: "video" });
      return fate.messageAction;
    }
    return { action: "delete" };
  }

  /** Removes everything the job's run wrote and its plan (idempotent: every straggler of a cancelled job calls it). */
  private async discard(context: TaskContext): Promise<void> {
    await this.deps.sources?.drop(context.task.jobId);
    const count = await deleteRunOutputs(this.deps.objects, context.bucket, context.layout);
    await this.deps.chunks.remove(context.task.jobId);
    if (count > 0)
      await this.deps.store
        .appendTimeline(context.task.jobId, "outputs-removed", { count, reason: "chunked job ended", by: context.part })
        .catch(() => undefined);
  }

  private async publish(context: TaskContext): Promise<PublishOutcome> {
    if (!this.deps.jobEvents) return "off";
    return this.deps.jobEvents.publish(context.task.jobId, context.logger).catch((error: unknown): PublishOutcome => {
      context.logger.warn({ err: error }, "job event could not be published");
      return "failed";
    });
  }
}

function describePart(context: TaskContext): string {
  if (context.task.part !== "video") return `${context.task.part} task`;
  const chunk = context.stored.plan.chunks[context.task.chunkIndex];
  const end = chunk?.endSec ?? context.stored.plan.source.durationSec;
  return `chunk ${context.task.chunkIndex} (${chunk?.startSec ?? "?"}–${Math.round(end * 1000) / 1000} s)`;
}

/** Only ever stored for a part not yet recorded, which a complete set never has. */
function emptyRecord(): PartRecord {
  return { segments: {}, codecs: {}, workerId: "", startedAt: 0, endedAt: 0 };
}

import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/config.ts";
import { abortError, abortReasonOf, throwIfAborted, toMediaError } from "../errors.ts";
import { realVersionId, type ObjectRef } from "../s3-events/object-ref.ts";
import type { Owner } from "../s3-events/key-rules.ts";
import type { JobStore } from "../jobs/job.store.ts";
import { jobIdFor, jobSourceOf } from "../jobs/job.model.ts";
import type { Logger } from "../logger.ts";
import { detectFileType } from "../media/detect-type.ts";
import { refineMediaKind } from "../media/refine-media.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import { videoDurationBucket, type Metrics } from "../metrics/metrics.ts";
import type { PublishOutcome, JobEventPublisher } from "../job-events/job-event.publisher.ts";
import type { OutputFile, ProcessContext, Processor, ProcessResult } from "../processors/processor.ts";
import type { ProcessorRegistry } from "../processors/registry.ts";
import type { DownloadResult, ObjectStore } from "../storage/object-store.ts";
import { cdnUrlOf, outputKey, outputLayout, runToken, type OutputLayout } from "../storage/output-keys.ts";
import type { MessageAction } from "../queue/media.consumer.ts";
import type { CancelRegistry } from "./cancel.registry.ts";
import { countAndLog } from "./fate-effects.ts";
import { createJobSignal } from "./job-signal.ts";
import {
  decide,
  receiveOf,
  type Fate,
  type FateEvent,
  type JobTransition,
  type Receive,
  type Recorded,
} from "./outcome.ts";
import { deleteRunOutputs, publishOutputs } from "./publish-outputs.ts";
import { recordWithRetry } from "./record-with-retry.ts";
import { redactTempPaths } from "./temp-dirs.ts";
import { WrittenOutputs } from "./written-outputs.ts";
import type { ChunkHandOff } from "./chunked/chunk-handoff.ts";
import type { ChunkSourceCache } from "./chunked/source-cache.ts";

/** One claimed job as its steps see it. */
type RunningJob = {
  jobId: string;
  leaseToken: string;
  /** Which claim of the job this is (1 on the first receive); names the run's output keys. */
  attempt: number;
  ref: ObjectRef;
  workDir: string;
  signal: AbortSignal;
  logger: Logger;
  step: (event: string, detail?: Record<string, unknown>) => void;
  setType: (type: string) => void;
  /**
   * Set once the run's layout is planned; the outputs it started writing (uploads in flight
   * included), and whether the manifest names them.
   */
  run: { layout?: OutputLayout; written: WrittenOutputs; published: boolean };
  /** The queue the delivery came from: where a chunked video's tasks go (src/pipeline/chunked). */
  queueUrl: string | undefined;
  startedAt: number;
};
type StepsResult = ProcessResult & {
  manifestKey: string;
  type: string;
  media: DetectedMedia;
  run: string;
  superseded?: Record<string, unknown>;
};

/** A claimed job's lease, for the transitions that need it. */
type Lease = { jobId: string; leaseToken: string; startedAt: number; signal: AbortSignal };

/** What carrying out one fate needs besides the fate itself. */
type SettleContext = {
  jobId: string;
  receive: Receive;
  logger: Logger;
  lease?: Lease;
  /** The job's type label once known. */
  type?: string;
  /** The run's result, for a `complete` transition. */
  result?: unknown;
  /** What the log line says besides the fate's message. */
  fields?: (fate: Fate) => Record<string, unknown>;
  /** The lane the delivery came through (media_lane_jobs_total). */
  lane?: string;
};

export interface JobRunnerDeps {
  config: AppConfig;
  store: JobStore;
  objects: ObjectStore;
  registry: ProcessorRegistry;
  metrics: Metrics;
  cancels: CancelRegistry;
  /** Publishes job events on terminal states (MEDIA_PROCESSING_TOPIC_ARN); absent or off: none. */
  jobEvents?: JobEventPublisher;
  /** Hands long videos to chunk tasks (VIDEO_CHUNK_SECONDS); absent: every video is one pass. */
  chunks?: ChunkHandOff;
  /** Kept chunk sources of this worker: a running job's input takes one's room (source-cache.ts). */
  sources?: ChunkSourceCache;
  /** Refines a byte-sniffed type (e.g. an audio-only MP4) before the registry picks; optional. */
  refineMedia?: (inputPath: string, media: DetectedMedia, signal: AbortSignal) => Promise<DetectedMedia>;
  logger: Logger;
  /** This worker's own temp root (TEMP_DIR/<worker>); job dirs are named from job ids only. */
  tempRoot: string;
}

export interface Delivery {
  messageId: string;
  receiveCount: number;
  signal: AbortSignal;
  /** The lane this delivery came through (src/lanes), for the lane metrics. */
  lane?: string;
  /** When the upload's event reached the first queue (epoch ms): the lane's wait time ends when the job starts. */
  sentAtMs?: number;
  /** The queue this delivery came from (a chunked video's tasks are sent to it). */
  queueUrl?: string;
}

const PROGRESS_WRITE_INTERVAL_MS = 1_000;
/** How much older than PROCESSING_TIMEOUT a run's outputs must be before another run may delete them (clock skew, upload tail). */
const DEAD_RUN_MARGIN_MS = 5 * 60_000;

/**
 * The path one uploaded object walks: claim → download → detect → process → manifest →
 * complete. Every step lands on the job timeline; the signal is checked between steps.
 * Never throws: every failure becomes a recorded job state and a message outcome.
 */
export class JobRunner {
  private readonly deps: JobRunnerDeps;

  constructor(deps: JobRunnerDeps) {
    this.deps = deps;
  }

  async run(ref: ObjectRef, owner: Owner, delivery: Delivery): Promise<MessageAction> {
    const { store, config } = this.deps;
    const source = jobSourceOf(ref);
    const jobId = jobIdFor(source);
    const logger = this.deps.logger.child({ jobId, messageId: delivery.messageId });
    const receive = receiveOf(delivery.receiveCount, config.queue);
    let claim;
    try {
      claim = await store.claim({
        id: jobId,
        source,
        tenantId: owner.tenantId,
        userId: owner.userId,
        messageId: delivery.messageId,
      });
    } catch (error) {
      return this.settle(
        { kind: "claim-failed" },
        { jobId, receive, logger, ...laneOf(delivery), fields: () => ({ err: error }) },
      );
    }
    if (claim.outcome === "busy") {
      const holderMessageId = claim.holderMessageId;
      const otherMessage = holderMessageId !== undefined && holderMessageId !== delivery.messageId;
      return this.settle(
        { kind: "busy", otherMessage },
        { jobId, receive, logger, ...laneOf(delivery), fields: () => (otherMessage ? { holderMessageId } : {}) },
      );
    }
    if (claim.outcome !== "claimed") {
      const status = claim.outcome;
      return this.settle(
        { kind: "finished-before", status },
        { jobId, receive, logger, ...laneOf(delivery), fields: () => ({ status }) },
      );
    }
    logger.info({ bucket: ref.bucket, key: ref.key, attempt: claim.attempts }, "job claimed");
    return this.process(jobId, claim.leaseToken, claim.attempts, ref, delivery, receive, logger);
  }

  private async process(
    jobId: string,
    leaseToken: string,
    attempt: number,
    ref: ObjectRef,
    delivery: Delivery,
    receive: Receive,
    logger: Logger,
  ): Promise<MessageAction> {
    const { store, config, metrics } = this.deps;
    const startedAt = Date.now();
    if (delivery.lane && delivery.sentAtMs !== undefined)
      metrics.laneWait.observe({ lane: delivery.lane }, Math.max(0, startedAt - delivery.sentAtMs) / 1000);
    const jobSignal = createJobSignal(delivery.signal, config.jobs.processingTimeoutMs);
    const unregisterCancel = this.deps.cancels.register(jobId, jobSignal.cancel);
    // Renewing the lease also reads the durable cancel flag: a cancel whose pub/sub hint was
    // lost (subscriber reconnecting) still stops the job within one interval.
    const leaseTimer = setInterval(
      () => {
        store.renewLease(jobId, leaseToken).then(
          (renewal) => {
            if (!renewal.cancelRequested || jobSignal.signal.aborted) return;
            logger.info("cancel requested (seen on lease renewal); aborting job");
            store.appendTimeline(jobId, "cancel-seen", { by: "lease-renewal" }).catch(() => undefined);
            jobSignal.cancel();
          },
          (error: unknown) => logger.warn({ err: error }, "lease renewal failed"),
        );
      },
      Math.min(config.jobs.leaseRenewMs, Math.max(1_000, Math.floor(config.jobs.leaseTtlMs / 3))),
    );
    leaseTimer.unref();
    const workDir = path.join(this.deps.tempRoot, `${jobId}-${leaseToken.slice(0, 8)}`);
    let type = "pending";
    metrics.jobsInFlight.inc({ type });
    const setType = (next: string) => {
      metrics.jobsInFlight.dec({ type });
      type = next;
      metrics.jobsInFlight.inc({ type });
    };
    const step = (event: string, detail?: Record<string, unknown>) => {
      store
        .appendTimeline(jobId, event, detail)
        .catch((error: unknown) => logger.warn({ err: error, event }, "timeline write failed"));
    };
    const run: RunningJob["run"] = { written: new WrittenOutputs(), published: false };
    const lease: Lease = { jobId, leaseToken, startedAt, signal: jobSignal.signal };
    try {
      const result = await this.stepsThenCleanUp({
        jobId,
        leaseToken,
        attempt,
        ref,
        workDir,
        signal: jobSignal.signal,
        logger,
        step,
        setType,
        run,
        queueUrl: delivery.queueUrl,
        startedAt,
      });
      if (result.handedOff)
        return await this.settle(
          { kind: "handed-off" },
          { jobId, receive, logger, ...laneOf(delivery), type, fields: () => ({ chunks: result.handedOff?.chunks }) },
        );
      if (type === "video") {
        // One pass: playable when published (chunked videos observe these in src/pipeline/chunked).
        const duration = { duration: videoDurationBucket(numberOr(result.metadata["durationSec"])) };
        const elapsedSec = (Date.now() - startedAt) / 1000;
        metrics.videoTimeToPlayable.observe(duration, elapsedSec);
        metrics.videoTimeToPublish.observe(duration, elapsedSec);
      }
      return await this.settle(
        { kind: "success" },
        {
          jobId,
          receive,
          logger,
          ...laneOf(delivery),
          lease,
          type,
          result,
          fields: () => ({ type, durationMs: Date.now() - startedAt, outputs: (result.outputs as unknown[]).length }),
        },
      );
    } catch (caught) {
      // Removed before the outcome is recorded: whoever reads a cancelled or failed job finds nothing of this run left in S3.
      const abortReason = abortReasonOf(jobSignal.signal);
      await this.discardUnpublishedOutputs(jobId, run, ref, abortReason, logger);
      // Tools name the files they read (`/tmp/…/job/input: bad seek`): users see the source key instead.
      const raw = toMediaError(caught);
      const error = raw.withMessage(
        redactTempPaths(raw.message, { workDir, tempRoot: this.deps.tempRoot, sourceKey: ref.key }),
      );
      const event: FateEvent = { kind: "error", error, ...(abortReason ? { abortReason } : {}) };
      return await this.settle(event, {
        jobId,
        receive,
        logger,
        ...laneOf(delivery),
        lease,
        type,
        fields: errorLogFields,
      });
    } finally {
      clearInterval(leaseTimer);
      unregisterCancel();
      jobSignal.dispose();
      metrics.jobsInFlight.dec({ type });
    }
  }

  /**
   * The temp dir goes before the outcome is recorded, so whoever reads a finished or cancelled
   * job (the API, an operator, a test) knows the worker holds no files for it any more.
   */
  private async stepsThenCleanUp(job: RunningJob): Promise<StepsResult> {
    const endReservation = this.deps.sources?.reserve();
    try {
      return await this.steps(job);
    } finally {
      await rm(job.workDir, { recursive: true, force: true }).catch((error: unknown) =>
        job.logger.warn({ err: error }, "temp dir removal failed"),
      );
      endReservation?.();
    }
  }

  /** The orchestration: plan the layout → download → detect and pick → process → manifest and publish. */
  private async steps(job: RunningJob): Promise<StepsResult> {
    const { config, metrics } = this.deps;
    const { ref, signal, step } = job;
    // Every key this run can write is checked against S3's limit before anything is downloaded.
    const layout = outputLayout(ref.key, config.storage.outputSegment, runToken(job.jobId, job.attempt));
    job.run.layout = layout;
    const { inputPath, download } = await this.download(job);
    throwIfAborted(signal);

    const { media, processor } = await this.detectAndPick(job, inputPath);
    metrics.bytesTotal.inc({ type: processor.name, direction: "in" }, download.bytes);
    throwIfAborted(signal);

    step("processing", { processor: processor.name });
    const result = await processor.process(
      this.createProcessContext(job, { inputPath, media, processorName: processor.name, layout, download }),
    );
    throwIfAborted(signal);
    if (result.handedOff) {
      const detected = { kind: media.kind, format: media.format, mime: media.mime };
      return { ...result, manifestKey: "", type: processor.name, media: detected, run: layout.run };
    }
    step("processed", { outputs: result.outputs.length });

    return this.writeManifest(job, { result, media, processorName: processor.name, download, layout });
  }

  /** The upload into the job's temp dir (size-capped, streamed); an abort reads as what the signal says. */
  private async download(job: RunningJob): Promise<{ inputPath: string; download: DownloadResult }> {
    const { config, objects } = this.deps;
    const { ref, signal, step } = job;
    await mkdir(job.workDir, { recursive: true });
    const inputPath = path.join(job.workDir, "input");
    step("downloading", { bucket: ref.bucket, key: ref.key });
    const download = await objects
      .download(ref.bucket, ref.key, inputPath, config.storage.maxInputBytes, signal)
      .catch((error: unknown) => {
        throw signal.aborted ? abortError(abortReasonOf(signal) ?? "cancelled") : error;
      });
    step("downloaded", { bytes: download.bytes });
    return { inputPath, download };
  }

  /**
   * What a processor sees of its job: the input, the signal, the timeline, throttled progress (clamped to 0–99, written at most once a second, only by the lease holder) and an
   * `output()` that uploads under the run's layout and remembers what it started writing.
   */
  private createProcessContext(
    job: RunningJob,
    plan: {
      inputPath: string;
      media: DetectedMedia;
      processorName: string;
      layout: OutputLayout;
      download: DownloadResult;
    },
  ): ProcessContext {
    const { config, objects, store, metrics } = this.deps;
    const { jobId, leaseToken, ref, workDir, signal, logger, step } = job;
    const bucket = config.storage.outputBucket ?? ref.bucket;
    let lastProgressWrite = 0;
    const chunks = this.deps.chunks;
    const queueUrl = job.queueUrl;
    return {
      ...(chunks && queueUrl && config.video.chunkSeconds > 0
        ? {
            handOffChunks: (chunkPlan) =>
              chunks.handOff({
                jobId,
                leaseToken,
                attempt: job.attempt,
                startedAt: job.startedAt,
                layout: plan.layout,
                source: { eTag: plan.download.eTag, versionId: realVersionId(plan.download.versionId) },
                plan: chunkPlan,
                media: { kind: plan.media.kind, format: plan.media.format, mime: plan.media.mime },
                inputPath: plan.inputPath,
                queueUrl,
                signal,
                step,
              }),
          }
        : {}),
      jobId,
      inputPath: plan.inputPath,
      workDir,
      sourceKey: ref.key,
      media: plan.media,
      config,
      logger,
      signal,
      step,
      progress: (percent, name) => {
        const now = Date.now();
        if (now - lastProgressWrite < PROGRESS_WRITE_INTERVAL_MS && percent < 100) return;
        lastProgressWrite = now;
        store.setProgress(jobId, leaseToken, Math.max(0, Math.min(99, percent))).catch(() => undefined);
        if (name) logger.debug({ percent, step: name }, "progress");
      },
      output: async (request): Promise<OutputFile> => {
        throwIfAborted(signal);
        const key = outputKey(plan.layout, request.name);
        const bytes = await job.run.written.track(key, () =>
          objects.upload({
            bucket,
            key,
            body: request.body,
            contentType: request.contentType,
            // Safe to cache forever: no other run ever writes this key (see output-keys.ts).
            cacheControl: request.cacheControl ?? "public, max-age=31536000, immutable",
            signal,
          }),
        );
        metrics.bytesTotal.inc({ type: plan.processorName, direction: "out" }, bytes);
        return {
          key,
          variant: request.variant,
          contentType: request.contentType,
          bytes,
          ...(request.width !== undefined ? { width: request.width } : {}),
          ...(request.height !== undefined ? { height: request.height } : {}),
          ...(request.durationSec !== undefined ? { durationSec: request.durationSec } : {}),
          ...(config.storage.cdnBaseUrl ? { url: cdnUrlOf(config.storage.cdnBaseUrl, key) } : {}),
        };
      },
    };
  }

  /**
   * The job result as `_manifest.json`, published under the source's stable manifest key unless
   * the source was uploaded again meanwhile (then this run's outputs go and the newer job writes
   * it). The run counts as published the moment its manifest is written.
   */
  private async writeManifest(
    job: RunningJob,
    done: {
      result: ProcessResult;
      media: DetectedMedia;
      processorName: string;
      download: DownloadResult;
      layout: OutputLayout;
    },
  ): Promise<StepsResult> {
    const { config, objects } = this.deps;
    const { jobId, ref, signal, logger, step } = job;
    const { result, media, layout, download } = done;
    const detected = { kind: media.kind, format: media.format, mime: media.mime };
    const processed = { eTag: download.eTag, versionId: realVersionId(download.versionId) };
    const manifest = {
      jobId,
      type: done.processorName,
      source: {
        bucket: ref.bucket,
        key: ref.key,
        eTag: processed.eTag,
        versionId: processed.versionId,
        bytes: download.bytes,
      },
      run: { token: layout.run, attempt: job.attempt },
      media: detected,
      outputs: result.outputs,
      metadata: result.metadata,
      createdAt: new Date().toISOString(),
    };
    const published = await publishOutputs({
      objects,
      outputBucket: config.storage.outputBucket ?? ref.bucket,
      source: { bucket: ref.bucket, key: ref.key },
      processed,
      layout,
      attempt: job.attempt,
      outputSegment: config.storage.outputSegment,
      manifest,
      deadRunAgeMs: config.jobs.processingTimeoutMs + DEAD_RUN_MARGIN_MS,
      signal,
      logger,
      step,
      manifestWritten: () => {
        job.run.published = true;
      },
    });
    const base = { manifestKey: published.manifestKey, type: done.processorName, media: detected, run: layout.run };
    if (published.kind === "superseded") {
      job.run.published = true;
      return {
        outputs: [],
        metadata: result.metadata,
        ...base,
        superseded: { by: published.current, removedOutputs: published.removedOutputs },
      };
    }
    return { ...result, ...base };
  }

  /**
   * A run that failed, was cancelled or was released before its manifest named its outputs leaves
   * nothing behind: once every upload in flight has settled (an HLS ladder uploads in parallel,
   * and a delete that ran first would miss the late ones), the run's outputs are deleted. Best
   * effort: a failure to delete is logged and on the timeline, and the next manifest of this
   * source removes whatever is left (or a crash leaves).
   */
  private async discardUnpublishedOutputs(
    jobId: string,
    run: RunningJob["run"],
    ref: ObjectRef,
    abortReason: string | undefined,
    logger: Logger,
  ): Promise<void> {
    if (!run.layout || run.published) return;
    const started = (await run.written.settledKeys()).length;
    if (started === 0) return;
    const bucket = this.deps.config.storage.outputBucket ?? ref.bucket;
    const reason = abortReason ?? "failed";
    try {
      const count = await deleteRunOutputs(this.deps.objects, bucket, run.layout);
      await this.deps.store.appendTimeline(jobId, "outputs-removed", { count, reason }).catch(() => undefined);
      logger.info({ count, reason }, "outputs the run had already written were removed");
    } catch (error) {
      logger.warn({ err: error, count: started }, "outputs the run had already written could not be removed");
      await this.deps.store
        .appendTimeline(jobId, "outputs-left", { count: started, reason: "delete failed" })
        .catch(() => undefined);
    }
  }

  /**
   * Bytes → type → processor. A job refused here (no processor, a format this build cannot read,
   * a probe that fails) still records what its bytes are: its type becomes the detected kind
   * (`audio`, `unknown`, …) rather than staying `pending`, and the timeline's `detected` entry
   * names the format, so a failed job says what was uploaded.
   */
  private async detectAndPick(
    job: RunningJob,
    inputPath: string,
  ): Promise<{ media: DetectedMedia; processor: Processor }> {
    const { registry, store } = this.deps;
    let media = await detectFileType(inputPath);
    try {
      // Audio-only MP4/WebM/Ogg look like video to magic numbers: ffprobe settles the kind.
      const refine =
        this.deps.refineMedia ??
        ((file: string, detected: DetectedMedia, abort: AbortSignal) =>
          refineMediaKind(file, detected, { signal: abort }));
      if (media.kind === "video" || media.kind === "audio") media = await refine(inputPath, media, job.signal);
      const processor = registry.pick(media);
      job.setType(processor.name);
      await store.setType(job.jobId, processor.name);
      job.step("detected", { kind: media.kind, format: media.format, mime: media.mime, processor: processor.name });
      return { media, processor };
    } catch (error) {
      job.setType(media.kind);
      await store
        .setType(job.jobId, media.kind)
        .catch((recordError: unknown) => job.logger.warn({ err: recordError }, "could not record the detected type"));
      job.step("detected", { kind: media.kind, format: media.format, mime: media.mime, processor: null });
      throw error;
    }
  }

  /**
   * Carries out what the fate table decides: the job transition first, then (for a recorded
   * terminal state) the job event, then the metrics and the log line; returns the message's action.
   * A `complete` that Redis does not take (after recordWithRetry) throws: the run's error path
   * decides what that means.
   */
  private async settle(event: FateEvent, context: SettleContext): Promise<MessageAction> {
    const facts = { event, receive: context.receive };
    const planned = decide(facts);
    let recorded: Recorded = "ok";
    let recordError: unknown;
    if (planned.jobTransition.kind !== "none" && context.lease) {
      try {
        recorded = (await this.record(planned.jobTransition, context.lease, context.result)) ? "ok" : "lost";
      } catch (error) {
        if (planned.jobTransition.kind === "complete") throw error;
        recorded = "store-down";
        recordError = error;
      }
    }
    let fate = decide({ ...facts, recorded });
    const durationSec = context.lease ? (Date.now() - context.lease.startedAt) / 1000 : undefined;
    const fields =
      recorded === "store-down" ? { err: recordError, original: fate.error?.code } : (context.fields?.(fate) ?? {});
    if (fate.publish)
      fate = decide({ ...facts, recorded, publish: await this.publishJobEvent(context.jobId, context.logger) });
    countAndLog(
      fate,
      { metrics: this.deps.metrics, logger: context.logger },
      {
        ...(context.type ? { type: context.type } : {}),
        ...(durationSec !== undefined ? { durationSec } : {}),
        ...(context.lane ? { lane: context.lane } : {}),
        fields,
      },
    );
    return fate.messageAction;
  }

  /** One job transition through the store; false when the lease had passed to another worker. */
  private async record(transition: JobTransition, lease: Lease, result: unknown): Promise<boolean> {
    const { store } = this.deps;
    const { jobId, leaseToken, startedAt } = lease;
    switch (transition.kind) {
      case "none":
        return true;
      case "complete":
        return recordWithRetry(() => store.complete(jobId, leaseToken, result, startedAt), lease.signal);
      case "release":
        return store.release(jobId, leaseToken, transition.event, transition.error, transition.detail);
      case "finish":
        return store.fail(jobId, leaseToken, transition.error, startedAt, transition.detail);
    }
  }

  /** Never throws: a publisher that throws counts as a failed publish (the message is kept to try again). */
  private async publishJobEvent(jobId: string, logger: Logger): Promise<PublishOutcome> {
    if (!this.deps.jobEvents) return "off";
    return this.deps.jobEvents.publish(jobId, logger).catch((error: unknown): PublishOutcome => {
      logger.warn({ err: error }, "job event could not be published");
      return "failed";
    });
  }
}

function numberOr(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function laneOf(delivery: Delivery): { lane?: string } {
  return delivery.lane ? { lane: delivery.lane } : {};
}

/** What a failed run's log line carries: the stack only when a retry or the DLQ follows, where it helps. */
function errorLogFields(fate: Fate): Record<string, unknown> {
  const error = fate.error;
  if (!error) return {};
  const transition = fate.jobTransition;
  if (transition.kind === "release" && transition.event === "released") return {};
  if (transition.kind === "release")
    return { err: error, code: error.code, category: error.category, delaySec: transition.detail.delaySec };
  if (error.retryable) return { err: error, code: error.code, category: error.category };
  return { code: error.code, category: error.category, message: error.message };
}

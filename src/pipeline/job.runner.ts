import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/config.ts";
import { abortError, abortReasonOf, MediaError, throwIfAborted, toMediaError } from "../errors.ts";
import { realVersionId, type ObjectRef } from "../events/object-ref.ts";
import type { Owner } from "../events/key-rules.ts";
import type { JobStore } from "../jobs/job.store.ts";
import { jobIdFor, jobSourceOf } from "../jobs/job.model.ts";
import type { Logger } from "../logger.ts";
import { detectFileType } from "../media/detect-type.ts";
import { refineMediaKind } from "../media/refine-media.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { AnnounceOutcome, JobAnnouncer } from "../notify/job-announcer.ts";
import type { OutputFile, Processor, ProcessResult } from "../processors/processor.ts";
import type { ProcessorRegistry } from "../processors/registry.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { outputKey, outputLayout, runToken, type OutputLayout } from "../storage/output-keys.ts";
import { retryDelaySec } from "../queue/backoff.ts";
import type { CancelRegistry } from "./cancel.registry.ts";
import { createJobSignal } from "./job-signal.ts";
import { deleteRunOutputs, publishOutputs } from "./publish-outputs.ts";
import { recordWithRetry } from "./record-with-retry.ts";
import { redactTempPaths } from "./temp-dirs.ts";

/** One claimed job as its steps see it. */
type RunningJob = {
  jobId: string;
  owner: string;
  /** Which claim of the job this is (1 on the first receive); names the run's output keys. */
  attempt: number;
  ref: ObjectRef;
  workDir: string;
  signal: AbortSignal;
  logger: Logger;
  step: (event: string, detail?: Record<string, unknown>) => void;
  setType: (type: string) => void;
  /** Set once the run's layout is planned; outputs written so far, and whether the manifest names them. */
  run: { layout?: OutputLayout; written: number; published: boolean };
};
type StepsResult = ProcessResult & { manifestKey: string; type: string; media: DetectedMedia; run: string; superseded?: Record<string, unknown> };

/** What the message handler does with the message after one object's job. */
export type RefOutcome =
  | { kind: "done" }
  | { kind: "retry"; delaySec: number }
  | { kind: "release" }
  | { kind: "busy" };

export interface JobRunnerDeps {
  config: AppConfig;
  store: JobStore;
  objects: ObjectStore;
  registry: ProcessorRegistry;
  metrics: Metrics;
  cancels: CancelRegistry;
  /** Publishes job events on terminal states (MEDIA_PROCESSING_TOPIC_ARN); absent or off: none. */
  announcer?: JobAnnouncer;
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

  async run(ref: ObjectRef, owner: Owner, delivery: Delivery): Promise<RefOutcome> {
    const { store, config } = this.deps;
    const source = jobSourceOf(ref);
    const jobId = jobIdFor(source);
    const logger = this.deps.logger.child({ jobId, messageId: delivery.messageId });
    let claim;
    try {
      claim = await store.claim({ id: jobId, source, tenantId: owner.tenantId, userId: owner.userId, messageId: delivery.messageId });
    } catch (error) {
      logger.error({ err: error }, "could not claim job (Redis unavailable?); message kept");
      return { kind: "retry", delaySec: this.backoff(delivery.receiveCount) };
    }
    if (claim.outcome === "busy") {
      // Another worker holds a live lease and its own message. A different message for the same
      // object is a duplicate and can go: if that worker dies, its own message comes back. The
      // same message redelivered (its visibility lapsed) must stay, or a crash would lose the job.
      if (claim.holderMessageId && claim.holderMessageId !== delivery.messageId) {
        logger.info({ holderMessageId: claim.holderMessageId }, "duplicate delivery of a job in progress elsewhere; message removed");
        this.deps.metrics.messagesDropped.inc({ reason: "duplicate" });
        return { kind: "done" };
      }
      logger.info("job is being processed by another worker; leaving this delivery");
      return { kind: "busy" };
    }
    if (claim.outcome !== "claimed") {
      // The job ended before (or was cancelled while queued): its event may still be owed.
      const announced = await this.announcedOutcome(jobId, delivery, logger);
      if (announced.kind !== "done") return announced;
      logger.info({ status: claim.outcome }, "duplicate delivery of a finished job; message removed");
      this.deps.metrics.messagesDropped.inc({ reason: "duplicate" });
      return { kind: "done" };
    }
    logger.info({ bucket: ref.bucket, key: ref.key, attempt: claim.attempts }, "job claimed");
    return this.process(jobId, claim.owner, claim.attempts, ref, delivery, logger);
  }

  private async process(jobId: string, owner: string, attempt: number, ref: ObjectRef, delivery: Delivery, logger: Logger): Promise<RefOutcome> {
    const { store, config, metrics } = this.deps;
    const startedAt = Date.now();
    const jobSignal = createJobSignal(delivery.signal, config.jobs.processingTimeoutMs);
    const unregisterCancel = this.deps.cancels.register(jobId, jobSignal.cancel);
    const leaseTimer = setInterval(() => {
      store.renewLease(jobId, owner).catch((error: unknown) => logger.warn({ err: error }, "lease renewal failed"));
    }, Math.max(1_000, Math.floor(config.jobs.leaseTtlMs / 3)));
    leaseTimer.unref();
    const workDir = path.join(this.deps.tempRoot, `${jobId}-${owner.slice(0, 8)}`);
    let type = "pending";
    metrics.jobsInFlight.inc({ type });
    const setType = (next: string) => {
      metrics.jobsInFlight.dec({ type });
      type = next;
      metrics.jobsInFlight.inc({ type });
    };
    const step = (event: string, detail?: Record<string, unknown>) => {
      store.appendTimeline(jobId, event, detail).catch((error: unknown) => logger.warn({ err: error, event }, "timeline write failed"));
    };
    const run: RunningJob["run"] = { written: 0, published: false };
    try {
      const result = await this.stepsThenCleanUp({ jobId, owner, attempt, ref, workDir, signal: jobSignal.signal, logger, step, setType, run });
      const recorded = await recordWithRetry(() => store.complete(jobId, owner, result, startedAt), jobSignal.signal);
      if (!recorded) {
        logger.warn("another worker took this job over while it ran; leaving the outcome to it");
        return { kind: "busy" };
      }
      metrics.jobsTotal.inc({ type, status: "completed" });
      metrics.jobDuration.observe({ type }, (Date.now() - startedAt) / 1000);
      logger.info({ type, durationMs: Date.now() - startedAt, outputs: (result.outputs as unknown[]).length }, "job completed");
      return await this.announcedOutcome(jobId, delivery, logger);
    } catch (caught) {
      const outcome = await this.onFailure(caught, { jobId, owner, type, startedAt, delivery, signal: jobSignal.signal, logger, workDir, sourceKey: ref.key });
      await this.discardUnpublishedOutputs(run, ref, logger);
      return outcome;
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
    try {
      return await this.steps(job);
    } finally {
      await rm(job.workDir, { recursive: true, force: true }).catch((error: unknown) => job.logger.warn({ err: error }, "temp dir removal failed"));
    }
  }

  private async steps(job: RunningJob): Promise<StepsResult> {
    const { config, objects, store, metrics } = this.deps;
    const { jobId, owner, ref, workDir, signal, logger, step } = job;
    // Every key this run can write is checked against S3's limit before anything is downloaded.
    const layout = outputLayout(ref.key, config.storage.outputSegment, runToken(jobId, job.attempt));
    job.run.layout = layout;
    await mkdir(workDir, { recursive: true });
    const inputPath = path.join(workDir, "input");

    step("downloading", { bucket: ref.bucket, key: ref.key });
    const download = await objects.download(ref.bucket, ref.key, inputPath, config.storage.maxInputBytes, signal).catch((error: unknown) => {
      throw signal.aborted ? abortError(abortReasonOf(signal) ?? "cancelled") : error;
    });
    step("downloaded", { bytes: download.bytes });
    throwIfAborted(signal);

    const { media, processor } = await this.detectAndPick(job, inputPath);
    metrics.bytesTotal.inc({ type: processor.name, direction: "in" }, download.bytes);
    throwIfAborted(signal);

    const bucket = config.storage.outputBucket ?? ref.bucket;
    let lastProgressWrite = 0;
    step("processing", { processor: processor.name });
    const result = await processor.process({
      jobId,
      inputPath,
      workDir,
      sourceKey: ref.key,
      media,
      config,
      logger,
      signal,
      step,
      progress: (percent, name) => {
        const now = Date.now();
        if (now - lastProgressWrite < PROGRESS_WRITE_INTERVAL_MS && percent < 100) return;
        lastProgressWrite = now;
        store.setProgress(jobId, owner, Math.max(0, Math.min(99, percent))).catch(() => undefined);
        if (name) logger.debug({ percent, step: name }, "progress");
      },
      output: async (request): Promise<OutputFile> => {
        throwIfAborted(signal);
        const key = outputKey(layout, request.name);
        job.run.written += 1;
        const bytes = await objects.upload({
          bucket,
          key,
          body: request.body,
          contentType: request.contentType,
          // Safe to cache forever: no other run ever writes this key (see output-keys.ts).
          cacheControl: request.cacheControl ?? "public, max-age=31536000, immutable",
          signal,
        });
        metrics.bytesTotal.inc({ type: processor.name, direction: "out" }, bytes);
        return {
          key,
          variant: request.variant,
          contentType: request.contentType,
          bytes,
          ...(request.width !== undefined ? { width: request.width } : {}),
          ...(request.height !== undefined ? { height: request.height } : {}),
          ...(request.durationSec !== undefined ? { durationSec: request.durationSec } : {}),
        };
      },
    });
    throwIfAborted(signal);
    step("processed", { outputs: result.outputs.length });

    const detected = { kind: media.kind, format: media.format, mime: media.mime };
    const processed = { eTag: download.eTag?.replace(/"/g, ""), versionId: realVersionId(download.versionId) };
    const manifest = {
      jobId,
      type: processor.name,
      source: { bucket: ref.bucket, key: ref.key, eTag: processed.eTag, versionId: processed.versionId, bytes: download.bytes },
      run: { token: layout.run, attempt: job.attempt },
      media: detected,
      outputs: result.outputs,
      metadata: result.metadata,
      createdAt: new Date().toISOString(),
    };
    const published = await publishOutputs({
      objects,
      outputBucket: bucket,
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
    });
    const base = { manifestKey: published.manifestKey, type: processor.name, media: detected, run: layout.run };
    if (published.kind === "superseded") {
      job.run.published = true;
      return { outputs: [], metadata: result.metadata, ...base, superseded: { by: published.current, removedOutputs: published.removedOutputs } };
    }
    job.run.published = true;
    return { ...result, ...base };
  }

  /**
   * A run that failed (or was released) before its manifest named its outputs leaves nothing
   * behind: the outputs it wrote are deleted, best effort (the next manifest of this source
   * removes whatever a crash leaves).
   */
  private async discardUnpublishedOutputs(run: RunningJob["run"], ref: ObjectRef, logger: Logger): Promise<void> {
    if (!run.layout || run.published || run.written === 0) return;
    const bucket = this.deps.config.storage.outputBucket ?? ref.bucket;
    await deleteRunOutputs(this.deps.objects, bucket, run.layout).catch((error: unknown) => logger.warn({ err: error }, "outputs of the failed run could not be removed"));
  }

  /**
   * Bytes → type → processor. A job refused here (no processor, a format this build cannot read,
   * a probe that fails) still records what its bytes are: its type becomes the detected kind
   * (`audio`, `unknown`, …) rather than staying `pending`, and the timeline's `detected` entry
   * names the format, so a failed job says what was uploaded.
   */
  private async detectAndPick(job: RunningJob, inputPath: string): Promise<{ media: DetectedMedia; processor: Processor }> {
    const { registry, store } = this.deps;
    let media = await detectFileType(inputPath);
    try {
      // Audio-only MP4/WebM/Ogg look like video to magic numbers: ffprobe settles the kind.
      const refine = this.deps.refineMedia ?? ((file: string, detected: DetectedMedia, abort: AbortSignal) => refineMediaKind(file, detected, { signal: abort }));
      if (media.kind === "video" || media.kind === "audio") media = await refine(inputPath, media, job.signal);
      const processor = registry.pick(media);
      job.setType(processor.name);
      await store.setType(job.jobId, processor.name);
      job.step("detected", { kind: media.kind, format: media.format, mime: media.mime, processor: processor.name });
      return { media, processor };
    } catch (error) {
      job.setType(media.kind);
      await store.setType(job.jobId, media.kind).catch((recordError: unknown) => job.logger.warn({ err: recordError }, "could not record the detected type"));
      job.step("detected", { kind: media.kind, format: media.format, mime: media.mime, processor: null });
      throw error;
    }
  }

  private async onFailure(
    caught: unknown,
    job: { jobId: string; owner: string; type: string; startedAt: number; delivery: Delivery; signal: AbortSignal; logger: Logger; workDir: string; sourceKey: string },
  ): Promise<RefOutcome> {
    const { store, config, metrics } = this.deps;
    const { jobId, owner, type, startedAt, delivery, signal, logger } = job;
    const reason = abortReasonOf(signal);
    // An abort shows up as whatever the interrupted step threw; the signal says what really happened.
    const raw: MediaError = reason ? abortError(reason) : toMediaError(caught);
    // Tools name the files they read (`/tmp/…/job/input: bad seek`): users see the source key instead.
    const error = raw.withMessage(redactTempPaths(raw.message, { workDir: job.workDir, tempRoot: this.deps.tempRoot, sourceKey: job.sourceKey }));
    metrics.jobErrors.inc({ type, category: error.category });
    try {
      if (reason === "shutdown") {
        await store.release(jobId, owner, "released", undefined, { reason: "worker shutting down" });
        logger.info("job released on shutdown; message visible again");
        return { kind: "release" };
      }
      if (error.messageAction === "retry-later") {
        const exhausted = delivery.receiveCount >= config.queue.maxReceives;
        const delaySec = this.backoff(delivery.receiveCount);
        if (exhausted) {
          await store.fail(jobId, owner, error.toJobError(), startedAt, { attempt: delivery.receiveCount, final: true, dlq: "the queue's redrive policy moves the message to the DLQ" });
          metrics.jobsTotal.inc({ type, status: "failed" });
          logger.error({ err: error, code: error.code, category: error.category }, "job failed after its last retry; message left for the DLQ");
          // The message stays either way; if SNS fails too, a redrive from the DLQ announces it.
          await this.announce(jobId, logger);
        } else {
          await store.release(jobId, owner, "retry-scheduled", error.toJobError(), { attempt: delivery.receiveCount, delaySec });
          logger.warn({ err: error, code: error.code, category: error.category, delaySec }, "job failed transiently; retrying later");
        }
        return { kind: "retry", delaySec };
      }
      await store.fail(jobId, owner, error.toJobError(), startedAt);
      metrics.jobsTotal.inc({ type, status: error.category === "cancelled" ? "cancelled" : "failed" });
      logger.warn({ code: error.code, category: error.category, message: error.message }, error.category === "cancelled" ? "job cancelled" : "job failed");
      return await this.announcedOutcome(jobId, delivery, logger);
    } catch (recordError) {
      logger.error({ err: recordError, original: error.code }, "could not record the job's failure (Redis unavailable?); message kept");
      return { kind: "retry", delaySec: this.backoff(delivery.receiveCount) };
    }
  }

  private async announce(jobId: string, logger: Logger): Promise<AnnounceOutcome> {
    return this.deps.announcer ? this.deps.announcer.announce(jobId, logger) : "off";
  }

  /** A recorded terminal state ends the message only once its event is out; otherwise the message returns later to announce it. */
  private async announcedOutcome(jobId: string, delivery: Delivery, logger: Logger): Promise<RefOutcome> {
    if ((await this.announce(jobId, logger)) === "failed") return { kind: "retry", delaySec: this.backoff(delivery.receiveCount) };
    return { kind: "done" };
  }

  private backoff(receiveCount: number): number {
    const { retryBackoffBaseSec, retryBackoffMaxSec } = this.deps.config.queue;
    return retryDelaySec(receiveCount, retryBackoffBaseSec, retryBackoffMaxSec);
  }
}

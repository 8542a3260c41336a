import { createHash } from "node:crypto";
import type { JobErrorInfo } from "../errors.ts";
import { bareETag, realVersionId, type ObjectRef } from "../s3-events/object-ref.ts";

/** queued → processing → completed | failed | cancelled; retry moves failed/cancelled → queued. */
export const JOB_STATUSES = ["queued", "processing", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** Processor name once detected; `pending` before the bytes were looked at. */
export type JobType = string;

export interface JobSource {
  bucket: string;
  key: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  /** The S3 event's sequencer: tells two PUTs of identical bytes to an unversioned key apart. */
  sequencer?: string;
}

export interface TimelineEntry {
  /** ISO timestamp. */
  at: string;
  event: string;
  detail?: Record<string, unknown>;
}

export interface JobRecord {
  id: string;
  type: JobType;
  status: JobStatus;
  source: JobSource;
  tenantId?: string;
  userId?: string;
  attempts: number;
  progress: number;
  timeline: TimelineEntry[];
  result?: unknown;
  error?: JobErrorInfo;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  messageId?: string;
  workerId?: string;
  cancelRequested?: boolean;
  /** Id of the job event published for the current terminal state (MEDIA_PROCESSING_TOPIC_ARN). */
  announcedEventId?: string;
}

/**
 * Job ids are derived from what identifies one upload of one object, so every delivery of the
 * same event maps to the same job (idempotency), while a re-upload is a new job:
 * - a versioned bucket gives every PUT its own versionId, which alone names the upload;
 * - an unversioned bucket gives two PUTs of the same bytes the same ETag, so the event's
 *   `sequencer` (different for every PUT of a key, the same in every redelivery of its event)
 *   is added; an event without one (hand-written, or an S3 lookalike that omits it) falls back
 *   to the ETag alone, as before.
 * A version id of `"null"` (what S3 reports for unversioned or versioning-suspended buckets)
 * names no version: see {@link realVersionId}.
 */
export function jobIdFor(source: JobSource): string {
  const versionId = realVersionId(source.versionId);
  // A source built by hand may carry S3's quoted form; refs and S3 answers are bare already.
  const eTag = bareETag(source.eTag) ?? "";
  const version = versionId ?? (source.sequencer ? `${eTag}\u0000${source.sequencer}` : eTag);
  return createHash("sha256").update(`${source.bucket}\u0000${source.key}\u0000${version}`).digest("hex").slice(0, 24);
}

/**
 * The job source an event's ref names; the worker, the intake, the API and the DLQ view all derive
 * it here, so they compute the same job id. The ref's ETag is bare already (parsed in s3-events/).
 */
export function jobSourceOf(ref: ObjectRef): JobSource {
  const versionId = realVersionId(ref.versionId);
  return {
    bucket: ref.bucket,
    key: ref.key,
    ...(ref.size !== undefined ? { size: ref.size } : {}),
    ...(ref.eTag ? { eTag: ref.eTag } : {}),
    ...(versionId ? { versionId } : {}),
    ...(ref.sequencer ? { sequencer: ref.sequencer } : {}),
  };
}

/** The job id of the object an event's ref names. */
export const jobIdOfRef = (ref: ObjectRef): string => jobIdFor(jobSourceOf(ref));

export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

/** A job that ends with an error is `cancelled` when the error is a cancel, `failed` otherwise: the store and the fate table both ask here. */
export const terminalStatusOf = (error: Pick<JobErrorInfo, "category">): "failed" | "cancelled" =>
  error.category === "cancelled" ? "cancelled" : "failed";

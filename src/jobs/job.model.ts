import { createHash } from "node:crypto";
import type { JobErrorInfo } from "../errors.ts";

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
 * Job ids are derived from what identifies one version of one object, so every delivery of
 * the same upload maps to the same job (idempotency), while a re-upload (new ETag or version)
 * is a new job.
 */
export function jobIdFor(source: JobSource): string {
  const version = source.versionId ?? source.eTag?.replace(/"/g, "") ?? "";
  return createHash("sha256").update(`${source.bucket}\u0000${source.key}\u0000${version}`).digest("hex").slice(0, 24);
}

export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

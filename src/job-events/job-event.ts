import { createHash } from "node:crypto";
import { z } from "zod";
import type { JobRecord } from "../jobs/job.model.ts";

/**
 * The JSON event published when a job reaches a terminal state (MEDIA_PROCESSING_TOPIC_ARN).
 * Delivery is at least once: consumers deduplicate on `eventId`, which is stable for one
 * terminal state of one job (the same state published again after a crash keeps its id; a later
 * retry that ends again gets a new one). The schema is exported for consumers and tests.
 */

export const JOB_EVENT_TYPES = ["media.job.completed", "media.job.failed", "media.job.cancelled"] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

const outputSchema = z.object({
  key: z.string(),
  variant: z.string(),
  contentType: z.string(),
  bytes: z.number(),
  width: z.number().optional(),
  height: z.number().optional(),
  durationSec: z.number().optional(),
});

export const jobEventSchema = z.object({
  version: z.literal(1),
  eventId: z.string().regex(/^[0-9a-f]{32}$/),
  eventType: z.enum(JOB_EVENT_TYPES),
  occurredAt: z.iso.datetime(),
  job: z.object({
    id: z.string(),
    type: z.string(),
    status: z.enum(["completed", "failed", "cancelled"]),
    attempts: z.number().int(),
    tenantId: z.string().optional(),
    userId: z.string().optional(),
    source: z.object({
      bucket: z.string(),
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
    }),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().optional(),
    finishedAt: z.iso.datetime(),
    durationMs: z.number().optional(),
  }),
  /** Completed jobs: where the outputs are. Per-segment HLS files are counted, not listed (the manifest lists them). */
  result: z
    .object({
      bucket: z.string(),
      manifestKey: z.string(),
      media: z.object({ kind: z.string(), format: z.string(), mime: z.string() }).optional(),
      outputCount: z.number().int(),
      outputs: z.array(outputSchema),
      outputsOmitted: z.number().int(),
    })
    .optional(),
  error: z.object({ category: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});

export type JobEvent = z.infer<typeof jobEventSchema>;

/** SNS refuses messages over 256 KiB; stay well under it with the attributes added. */
export const MAX_EVENT_BYTES = 200 * 1024;

/** Outputs a consumer wants to see by name; HLS rung playlists, init files and segments are only counted. */
const UNLISTED_VARIANTS = new Set(["hls_segment", "hls_playlist", "hls_init"]);

const resultShape = z.object({
  manifestKey: z.string(),
  outputs: z.array(outputSchema),
  media: z.object({ kind: z.string(), format: z.string(), mime: z.string() }).optional(),
});

/** Stable id of one terminal state of one job: same record, same id; a later ending, a new one. */
export function jobEventId(job: Pick<JobRecord, "id" | "status" | "attempts" | "finishedAt">): string {
  return createHash("sha256")
    .update(`${job.id}\u0000${job.status}\u0000${job.attempts}\u0000${job.finishedAt ?? ""}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * The job event publishing `job`'s terminal state, or undefined when the job is not terminal.
 * `outputBucket` is where its outputs went (OUTPUT_BUCKET, or the source bucket).
 */
export function buildJobEvent(job: JobRecord, outputBucket: string): JobEvent | undefined {
  if (job.status !== "completed" && job.status !== "failed" && job.status !== "cancelled") return undefined;
  const finishedAt = job.finishedAt ?? new Date().toISOString();
  const event: JobEvent = {
    version: 1,
    eventId: jobEventId(job),
    eventType: `media.job.${job.status}`,
    occurredAt: finishedAt,
    job: {
      id: job.id,
      type: job.type,
      status: job.status,
      attempts: job.attempts,
      ...(job.tenantId ? { tenantId: job.tenantId } : {}),
      ...(job.userId ? { userId: job.userId } : {}),
      source: job.source,
      createdAt: job.createdAt,
      ...(job.startedAt ? { startedAt: job.startedAt } : {}),
      finishedAt,
      ...(job.durationMs !== undefined ? { durationMs: job.durationMs } : {}),
    },
  };
  if (job.status === "completed") {
    const parsed = resultShape.safeParse(job.result);
    if (parsed.success) {
      const listed = parsed.data.outputs.filter((output) => !UNLISTED_VARIANTS.has(output.variant));
      event.result = {
        bucket: outputBucket,
        manifestKey: parsed.data.manifestKey,
        ...(parsed.data.media ? { media: parsed.data.media } : {}),
        outputCount: parsed.data.outputs.length,
        outputs: listed,
        outputsOmitted: parsed.data.outputs.length - listed.length,
      };
    }
  }
  if (job.error && job.status !== "completed") event.error = job.error;
  return fitToSize(event);
}

/** A plug-in with thousands of outputs must not make the event unpublishable: drop the list, keep the manifest. */
function fitToSize(event: JobEvent): JobEvent {
  if (Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_BYTES || !event.result) return event;
  return { ...event, result: { ...event.result, outputs: [], outputsOmitted: event.result.outputCount } };
}

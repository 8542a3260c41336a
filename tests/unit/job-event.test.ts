import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { buildJobEvent, jobEventId, jobEventSchema, MAX_EVENT_BYTES } from "../../src/job-events/job-event.ts";

const baseEnv = {
  MEDIA_BUCKET: "media-uploads",
  MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:4566/000000000000/q",
  REDIS_URL: "redis://127.0.0.1:6379",
};

const output = (variant: string, key: string) => ({
  key,
  variant,
  contentType: "application/octet-stream",
  bytes: 100,
});

function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: "a".repeat(24),
    type: "video",
    status: "completed",
    source: { bucket: "media-uploads", key: "tenants/t/users/u/media/clip.mp4", eTag: "e1" },
    tenantId: "t",
    userId: "u",
    attempts: 1,
    progress: 100,
    timeline: [],
    createdAt: "2026-11-22T10:00:00.000Z",
    startedAt: "2026-11-22T10:00:01.000Z",
    finishedAt: "2026-11-22T10:00:30.000Z",
    durationMs: 29_000,
    result: {
      manifestKey: "tenants/t/users/u/media/processed/clip/manifest.json",
      media: { kind: "video", format: "mp4", mime: "video/mp4" },
      outputs: [
        output("hls_master", "p/hls/master.m3u8"),
        output("hls_playlist", "p/hls/480p/index.m3u8"),
        ...Array.from({ length: 30 }, (_, index) => output("hls_segment", `p/hls/480p/seg_${index}.ts`)),
        output("poster", "p/poster.jpg"),
      ],
      metadata: { durationSec: 120 },
    },
    ...overrides,
  };
}

test("a completed video lists its master playlist and poster, and only counts the segments", () => {
  const event = buildJobEvent(job(), "media-uploads");
  assert.ok(event);
  assert.doesNotThrow(() => jobEventSchema.parse(event));
  assert.equal(event.eventType, "media.job.completed");
  assert.deepEqual(
    event.result?.outputs.map((item) => item.variant),
    ["hls_master", "poster"],
  );
  assert.equal(event.result?.outputCount, 33);
  assert.equal(event.result?.outputsOmitted, 31);
  assert.equal(event.result?.bucket, "media-uploads");
  assert.equal(event.error, undefined);
  assert.equal(event.occurredAt, "2026-11-22T10:00:30.000Z");
});

test("failed and cancelled jobs carry their error and no result; unfinished jobs have no event", () => {
  const error = { category: "processing" as const, code: "image-truncated", message: "truncated", retryable: false };
  const failed = buildJobEvent(job({ status: "failed", result: undefined, error }), "out");
  assert.equal(failed?.eventType, "media.job.failed");
  assert.deepEqual(failed?.error, error);
  assert.equal(failed?.result, undefined);
  const cancelled = buildJobEvent(
    job({ status: "cancelled", result: undefined, error: { ...error, category: "cancelled", code: "cancelled" } }),
    "out",
  );
  assert.equal(cancelled?.eventType, "media.job.cancelled");
  assert.equal(buildJobEvent(job({ status: "processing" }), "out"), undefined);
  assert.equal(buildJobEvent(job({ status: "queued" }), "out"), undefined);
});

test("the event id is stable for one terminal state and new for the next one", () => {
  const first = job();
  assert.equal(
    jobEventId(first),
    jobEventId({ ...first, timeline: [{ at: "x", event: "event-published" }] } as JobRecord),
  );
  assert.notEqual(jobEventId(first), jobEventId({ ...first, attempts: 2 }));
  assert.notEqual(jobEventId(first), jobEventId({ ...first, finishedAt: "2026-11-22T11:00:00.000Z" }));
  assert.notEqual(jobEventId(first), jobEventId({ ...first, status: "failed" }));
  assert.notEqual(jobEventId(first), jobEventId({ ...first, id: "b".repeat(24) }));
});

test("an event that would exceed the SNS size limit drops its output list, keeping the manifest", () => {
  const many = Array.from({ length: 3000 }, (_, index) =>
    output(`page_${index}`, `p/pages/${"x".repeat(60)}-${index}.png`),
  );
  const event = buildJobEvent(
    job({ type: "plugin", result: { manifestKey: "p/manifest.json", outputs: many, metadata: {} } }),
    "out",
  );
  assert.ok(event?.result);
  assert.ok(Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_BYTES);
  assert.deepEqual(event.result.outputs, []);
  assert.equal(event.result.outputsOmitted, 3000);
  assert.equal(event.result.manifestKey, "p/manifest.json");
});

test("MEDIA_PROCESSING_TOPIC_ARN must be an SNS topic ARN; unset or empty turns events off", () => {
  assert.equal(loadConfig(baseEnv).jobEvents.topicArn, undefined);
  assert.equal(loadConfig({ ...baseEnv, MEDIA_PROCESSING_TOPIC_ARN: "" }).jobEvents.topicArn, undefined);
  assert.equal(
    loadConfig({ ...baseEnv, MEDIA_PROCESSING_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:media-job-events" })
      .jobEvents.topicArn,
    "arn:aws:sns:eu-west-1:123456789012:media-job-events",
  );
  assert.equal(
    loadConfig({ ...baseEnv, MEDIA_PROCESSING_TOPIC_ARN: "arn:aws-cn:sns:cn-north-1:123456789012:jobs.fifo" }).jobEvents
      .topicArn,
    "arn:aws-cn:sns:cn-north-1:123456789012:jobs.fifo",
  );
  for (const wrong of ["media-job-events", "arn:aws:sqs:eu-west-1:123456789012:q", "arn:aws:sns:eu-west-1:1234:t"]) {
    assert.throws(
      () => loadConfig({ ...baseEnv, MEDIA_PROCESSING_TOPIC_ARN: wrong }),
      (error: unknown) => error instanceof ConfigError && /MEDIA_PROCESSING_TOPIC_ARN/.test(error.message),
      wrong,
    );
  }
});

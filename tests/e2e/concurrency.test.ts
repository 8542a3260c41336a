import assert from "node:assert/strict";
import { test } from "node:test";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startTestStack } from "../helpers/stack.ts";

test("one slow job does not hold the rest of its batch: later messages complete while it runs", async () => {
  const stack = await startTestStack({
    processors: [createSlowProcessor(8_000)],
    env: { MEDIA_PROCESSOR_CONCURRENCY: "2", SQS_BATCH_SIZE: "10" },
  });
  try {
    const slow = await stack.upload("batch/slow.txt", "SLOW");
    const fast = [];
    for (let i = 0; i < 5; i++)
      fast.push({ key: `batch/fast-${i}.png`, ...(await stack.upload(`batch/fast-${i}.png`, await transparentPng())) });
    // One message carries the slow object, the fast ones arrive as separate messages of the same receive batch.
    await stack.sendRaw(buildS3Notification([{ bucket: stack.bucket, key: "batch/slow.txt", eTag: slow.eTag }]));
    for (const { key, eTag } of fast) await stack.sendEvent(key, eTag);
    for (const { key, eTag } of fast) {
      const job = await stack.waitForJob(jobIdFor({ bucket: stack.bucket, key, eTag }), undefined, 20_000);
      assert.equal(job.status, "completed");
    }
    const slowJob = await stack.store.get(jobIdFor({ bucket: stack.bucket, key: "batch/slow.txt", eTag: slow.eTag }));
    assert.equal(slowJob?.status, "processing", "the slow job is still running while the fast ones are done");
    const metric = (await stack.worker.metrics.jobsInFlight.get()).values.reduce((sum, value) => sum + value.value, 0);
    assert.ok(metric <= 2, `never more than MEDIA_PROCESSOR_CONCURRENCY in flight (${metric})`);
  } finally {
    await stack.stop();
  }
});

test("a job longer than the visibility timeout keeps its message invisible: no second worker picks it up", async () => {
  const stack = await startTestStack({
    processors: [createSlowProcessor(13_000)],
    env: { SQS_VISIBILITY_TIMEOUT: "10", SQS_HEARTBEAT_INTERVAL: "3" },
  });
  try {
    const other = await stack.startAnotherWorker({ SQS_VISIBILITY_TIMEOUT: "10", SQS_HEARTBEAT_INTERVAL: "3" });
    const jobId = await stack.uploadAndNotify("long/job.txt", "SLOW long");
    const job = await stack.waitForJob(jobId, undefined, 40_000);
    assert.equal(job.status, "completed");
    assert.equal(job.attempts, 1, "never re-claimed");
    assert.ok(!job.timeline.some((entry) => entry.event === "lease-expired"));
    assert.ok(job.durationMs! > 12_000);
    const received = async (worker: typeof other) =>
      (await worker.metrics.messagesReceived.get()).values[0]?.value ?? 0;
    assert.equal((await received(stack.worker)) + (await received(other)), 1, "the message was received once in all");
  } finally {
    await stack.stop();
  }
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import type { JobStats } from "../../src/api/job-stats.ts";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import {
  createJobEventSubscription,
  emulatorTopicArn,
  type JobEventSubscription,
} from "../helpers/job-event-subscription.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The API while its dependencies fail (no worker; the real redis-server is stopped and started,
 * the emulator is stopped): answers are 503 problems with Retry-After, readiness turns red, stats
 * still answer with a verdict, and a retry whose message cannot be sent leaves the job failed
 * rather than queued with nothing on the queue.
 */
type Problem = { code: string; status: number };

describe("API with Redis or SQS down", () => {
  let t: ApiTestStack;
  before(async () => {
    t = await startApiTestStack({ noWorker: true, persistentRedis: true });
  });
  after(async () => {
    await t.stop();
  });

  const enqueueAndCancel = async (key: string): Promise<string> => {
    const enqueued = await t.call<{ jobs: Array<{ id: string }> }>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key, eTag: key }])),
    });
    const id = enqueued.body.jobs[0]!.id;
    assert.equal((await t.call("DELETE", `/api/media/jobs/${id}`)).status, 200);
    return id;
  };

  test("Redis down: /api answers 503 problems with Retry-After, readiness is red; both recover when it is back", async () => {
    const id = await enqueueAndCancel("redis/a.jpg");
    await t.stack.local.redis.stop();
    const ready = await t.call<{ status: string; checks: Record<string, boolean> }>("GET", "/readyz", {
      authorization: null,
    });
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.checks, { redis: false, sqs: true });
    for (const [method, path] of [
      ["GET", "/api/media/jobs"],
      ["GET", `/api/media/jobs/${id}`],
      ["POST", `/api/media/jobs/${id}/retry`],
      ["GET", "/api/media/jobs/stats"],
    ] as const) {
      const answer = await t.call<Problem>(method, path);
      assert.equal(answer.status, 503, `${method} ${path}: ${answer.text}`);
      assert.equal(answer.body.code, "dependency-unavailable");
      assert.equal(answer.headers.get("retry-after"), "5");
    }
    assert.equal(
      (await t.call("GET", "/healthz", { authorization: null })).status,
      200,
      "alive: restarting the API would not help",
    );
    await t.stack.local.redis.start();
    await waitFor(async () => (await t.call("GET", "/readyz", { authorization: null })).status === 200, "ready again");
    const job = await t.call<JobRecord>("GET", `/api/media/jobs/${id}`);
    assert.deepEqual([job.status, job.body.status], [200, "cancelled"]);
  });

  test("SQS down: a retry answers 503 and leaves the job failed (enqueue-failed), not queued; stats turn unhealthy", async () => {
    const id = await enqueueAndCancel("sqs/b.jpg");
    await t.stack.local.emulator.stop();
    const retry = await t.call<Problem>("POST", `/api/media/jobs/${id}/retry`);
    assert.equal(retry.status, 503, retry.text);
    const job = await t.call<JobRecord>("GET", `/api/media/jobs/${id}`);
    assert.equal(job.body.status, "failed");
    assert.equal(job.body.error?.code, "enqueue-failed");
    assert.equal(job.body.error?.retryable, true);
    assert.deepEqual(job.body.timeline.map((entry) => entry.event).slice(-2), ["retry-requested", "failed"]);
    const enqueue = await t.call<Problem>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key: "sqs/c.jpg", eTag: "c" }])),
    });
    assert.equal(enqueue.status, 503);
    // Queue depths are read in the background (API_QUEUE_DEPTH_INTERVAL): stats show the outage once the next read fails.
    let stats = await t.call<JobStats>("GET", "/api/media/jobs/stats");
    await waitFor(
      async () => {
        stats = await t.call<JobStats>("GET", "/api/media/jobs/stats");
        return stats.status !== 200 || stats.body.queues.media === null;
      },
      "stats report the media queue unreadable",
      30_000,
      200,
    );
    assert.equal(stats.status, 200, "stats still answer: an operator needs them most now");
    assert.equal(stats.body.queues.media, null);
    assert.equal(stats.body.health.status, "unhealthy");
    assert.ok(
      stats.body.health.reasons.includes("the media queue could not be read"),
      stats.body.health.reasons.join("; "),
    );
    assert.equal(
      (await t.call<{ checks: Record<string, boolean> }>("GET", "/readyz", { authorization: null })).body.checks.sqs,
      false,
    );
  });
});

describe("API-side failures are published on the job-event topic", () => {
  let t: ApiTestStack;
  let topic: JobEventSubscription;
  before(async () => {
    // The API sends retries to a queue that does not exist (a real SQS refusal); SNS works.
    t = await startApiTestStack({
      noWorker: true,
      apiEnv: {
        MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:1/000000000000/no-such-queue",
        MEDIA_PROCESSING_TOPIC_ARN: emulatorTopicArn("api-job-events"),
      },
    });
    topic = await createJobEventSubscription(t.stack.local.env.AWS_ENDPOINT_URL!, t.stack.sqs, "api-job-events");
  });
  after(async () => {
    topic.close();
    await t.stop();
  });

  test("a retry whose message cannot be sent fails the job, and the API publishes that failure", async () => {
    const key = "api/publish.jpg";
    const id = jobIdFor({ bucket: t.stack.bucket, key, eTag: "e1" });
    await t.stack.store.enqueue({
      id,
      source: { bucket: t.stack.bucket, key, eTag: "e1" },
      tenantId: undefined,
      userId: undefined,
      via: "test",
    });
    assert.equal(await t.stack.store.requestCancel(id), "queued");
    const retry = await t.call<Problem>("POST", `/api/media/jobs/${id}/retry`);
    assert.ok(retry.status >= 500, retry.text);
    const [received, ...more] = await topic.receive(1);
    assert.deepEqual(more, []);
    assert.equal(received?.event.eventType, "media.job.failed");
    assert.equal(received?.event.job.id, id);
    assert.equal(received?.event.error?.code, "enqueue-failed");
    assert.equal((await t.stack.store.get(id))?.announcedEventId, received?.event.eventId);
  });
});

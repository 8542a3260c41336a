import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import type { JobStats } from "../../src/api/job-stats.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { transparentPng, truncatedJpeg } from "../helpers/generate-images.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitFor, waitForValue } from "../helpers/wait-for.ts";

/**
 * Stats against the jobs really run, and a DLQ redrive of a job that failed for good on S3 503s
 * (injected by the fault proxy between the worker and the emulator): after the fault clears,
 * the redrive requeues it and the worker completes it.
 */
/** Stats once `ready` holds (depths are polled every 250 ms in tests); fails with the last answer after 10 s. */
function statsWhen(t: ApiTestStack, windowMinutes: number, ready: (stats: JobStats) => boolean) {
  return waitForValue(
    () => t.call<JobStats>("GET", `/api/media/jobs/stats?windowMinutes=${windowMinutes}`),
    (response) => ready(response.body),
    (last) => `stats to hold; last: ${last?.text.slice(0, 500)}`,
    10_000,
  );
}

describe("stats and DLQ redrive", () => {
  let t: ApiTestStack;
  let proxy: FaultProxy;
  before(async () => {
    t = await startApiTestStack({
      maxReceiveCount: 3,
      endpointFor: async (emulator) => {
        proxy = await startFaultProxy(emulator);
        return proxy.endpoint;
      },
      env: { RETRY_BACKOFF_BASE: "1", RETRY_BACKOFF_MAX: "2", MEDIA_PROCESSOR_CONCURRENCY: "3" },
    });
  });
  after(async () => {
    await t.stop();
    await proxy.close();
  });

  test("stats count the jobs that ran: statuses, success rate, error rates by type and category, durations, queues, workers", async () => {
    const ok = await Promise.all(
      [1, 2, 3].map(async (n) => t.stack.uploadAndNotify(`stats/ok-${n}.png`, await transparentPng())),
    );
    const broken = await Promise.all(
      [1, 2].map(async (n) => t.stack.uploadAndNotify(`stats/broken-${n}.jpg`, await truncatedJpeg())),
    );
    const jobs: JobRecord[] = [];
    for (const id of [...ok, ...broken]) jobs.push(await t.stack.waitForJob(id));
    assert.deepEqual(
      jobs.map((job) => job.status),
      ["completed", "completed", "completed", "failed", "failed"],
    );
    const durations = jobs
      .slice(0, 3)
      .map((job) => job.durationMs!)
      .sort((a, b) => a - b);

    // Queue depths are a snapshot polled in the background: wait for the one after the last delete.
    const settled = (body: JobStats) => body.queues.media?.visible === 0 && body.queues.media.inFlight === 0;
    const { status, body: stats } = await statsWhen(t, 5, settled);
    assert.equal(status, 200);
    assert.equal(stats.window.minutes, 5);
    assert.deepEqual(stats.jobs.byStatus, { queued: 0, processing: 0, completed: 3, failed: 2, cancelled: 0 });
    assert.equal(stats.jobs.total, 5);
    assert.equal(stats.jobs.perMinute, 1);
    assert.equal(stats.successRate, 0.6);
    assert.deepEqual(stats.errors.byType, { image: { failed: 2, finished: 5, rate: 0.4 } });
    assert.deepEqual(stats.errors.byCategory, { processing: { count: 2, rate: 0.4 } });
    assert.deepEqual(stats.durations.image, {
      count: 3,
      minMs: durations[0],
      maxMs: durations[2],
      avgMs: Math.round((durations[0]! + durations[1]! + durations[2]!) / 3),
      p95Ms: durations[2],
    });
    assert.deepEqual(stats.queues.media, { visible: 0, inFlight: 0, delayed: 0 });
    assert.deepEqual(stats.queues.dlq, { visible: 0, inFlight: 0, delayed: 0 });
    assert.equal(stats.workers?.alive, 1);
    assert.equal(stats.workers?.capacity, 3);
    assert.equal(stats.workers?.list[0]?.id, t.stack.config.workerId);
    // 3 of 5 succeeded: below the 90 % line, above the 50 % one.
    assert.equal(stats.health.status, "degraded");
    assert.deepEqual(stats.health.reasons, ["success rate 60 % over the last 5 min"]);
  });

  test("a job failed for good on S3 503s lands in the DLQ; redrive requeues it and it completes once S3 is back", async () => {
    proxy.setRule(({ method, path }) =>
      method === "GET" && path.includes("/outage/") ? { status: 503, code: "SlowDown" } : "pass",
    );
    const id = await t.stack.uploadAndNotify("outage/late.png", await transparentPng());
    const failed = await t.stack.waitForJob(id, (job) => job.status === "failed", 60_000);
    assert.equal(failed.error?.category, "transient");
    await waitFor(async () => (await t.stack.queueDepth("dlq")).visible > 0, "the message in the DLQ", 20_000, 200);
    assert.equal((await t.stack.queueDepth("dlq")).visible, 1, "the message is in the DLQ");

    const degraded = await statsWhen(t, 5, (body) => body.queues.dlq?.visible === 1);
    assert.equal(degraded.body.queues.dlq?.visible, 1);
    assert.ok(
      degraded.body.health.reasons.includes("1 message(s) in the dead-letter queue"),
      degraded.body.health.reasons.join("; "),
    );

    proxy.setRule(() => "pass");
    const started = await t.call<{ action: { id: string } }>("POST", "/api/media/dlq/redrive", {
      body: { maxMessages: 5 },
    });
    assert.equal(started.status, 202);
    const redrive = await t.waitForAction(started.body.action.id);
    assert.equal(redrive.state, "done");
    assert.equal(redrive.progress.moved, 1);
    assert.deepEqual(
      redrive.progress.jobs?.map((job) => [job.id, job.requeued]),
      [[id, true]],
    );
    assert.equal((await t.stack.queueDepth("dlq")).visible, 0);
    const completed = await t.stack.waitForJob(id, (job) => job.status === "completed", 30_000);
    const requeue = completed.timeline.find((entry) => entry.event === "retry-requested");
    assert.equal(requeue?.detail?.via, "dlq-redrive");
    assert.equal(requeue?.detail?.by, "api-token", "who redrove it is on the timeline");
    assert.equal(completed.attempts, 4);
  });
});

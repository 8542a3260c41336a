import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { computeJobStats, durationStats, type StatsInput } from "../../src/api/job-stats.ts";
import type { JobSummary } from "../../src/jobs/job.store.ts";

/** The pure stats computation and its health verdict. */
const now = Date.parse("2025-01-01T12:00:00Z");
const job = (status: JobSummary["status"], type = "image", extra: Partial<JobSummary> = {}): JobSummary => ({ id: `${status}-${Math.random()}`, status, type, createdAtMs: now - 1000, ...extra });
const healthyInput = (jobs: JobSummary[], overrides: Partial<StatsInput> = {}): StatsInput => ({
  jobs,
  truncated: false,
  windowMinutes: 10,
  nowMs: now,
  queues: { media: { visible: 0, inFlight: 0, delayed: 0 }, dlq: { visible: 0, inFlight: 0, delayed: 0 }, dlqConfigured: true },
  workers: [{ id: "w1", concurrency: 2, inFlight: 1, startedAt: now - 60_000, lastSeen: now }],
  ...overrides,
});

describe("job stats", () => {
  test("p95 is the nearest-rank value; avg/min/max over all durations", () => {
    const values = Array.from({ length: 20 }, (_, index) => (index + 1) * 100);
    assert.deepEqual(durationStats(values), { count: 20, avgMs: 1050, minMs: 100, maxMs: 2000, p95Ms: 1900 });
    assert.deepEqual(durationStats([700]), { count: 1, avgMs: 700, minMs: 700, maxMs: 700, p95Ms: 700 });
    assert.equal(durationStats([5, 1, 3]).p95Ms, 5, "sorted before ranking");
  });

  test("rates are over finished jobs; cancelled, queued and processing ones are counted but not rated", () => {
    const stats = computeJobStats(
      healthyInput([
        job("completed", "image", { durationMs: 100 }),
        job("completed", "video", { durationMs: 5000 }),
        job("failed", "video", { errorCategory: "processing" }),
        job("failed", "audio", { errorCategory: "resource" }),
        job("cancelled", "video", { errorCategory: "cancelled" }),
        job("queued", "pending"),
        job("processing", "image"),
      ]),
    );
    assert.deepEqual(stats.jobs.byStatus, { queued: 1, processing: 1, completed: 2, failed: 2, cancelled: 1 });
    assert.equal(stats.jobs.perMinute, 0.7);
    assert.equal(stats.jobs.finishedPerMinute, 0.4);
    assert.equal(stats.successRate, 0.5);
    assert.deepEqual(stats.errors.byType, { image: { failed: 0, finished: 1, rate: 0 }, video: { failed: 1, finished: 2, rate: 0.5 }, audio: { failed: 1, finished: 1, rate: 1 } });
    assert.deepEqual(stats.errors.byCategory, { processing: { count: 1, rate: 0.25 }, resource: { count: 1, rate: 0.25 } });
    assert.deepEqual(Object.keys(stats.durations).sort(), ["image", "video"]);
    assert.deepEqual(stats.workers && { alive: stats.workers.alive, capacity: stats.workers.capacity, inFlight: stats.workers.inFlight }, { alive: 1, capacity: 2, inFlight: 1 });
    assert.deepEqual(stats.window, { minutes: 10, since: "2025-01-01T11:50:00.000Z", until: "2025-01-01T12:00:00.000Z" });
  });

  test("healthy with no jobs at all; success rate is null, not 0 or 1", () => {
    const stats = computeJobStats(healthyInput([]));
    assert.equal(stats.successRate, null);
    assert.deepEqual(stats.health, { status: "healthy", reasons: [] });
  });

  test("verdict: no live worker or an unreadable queue is unhealthy; DLQ messages, backlog and a low success rate degrade", () => {
    assert.deepEqual(computeJobStats(healthyInput([], { workers: [] })).health, { status: "unhealthy", reasons: ["no worker is alive: nothing processes new uploads"] });
    assert.equal(computeJobStats(healthyInput([], { workers: undefined })).health.status, "unhealthy");
    assert.equal(computeJobStats(healthyInput([], { queues: { media: undefined, dlq: undefined, dlqConfigured: true } })).health.status, "unhealthy");
    assert.deepEqual(computeJobStats(healthyInput([], { queues: { media: { visible: 0, inFlight: 0, delayed: 0 }, dlq: undefined, dlqConfigured: false } })).health.status, "healthy", "no DLQ configured is not a problem");
    const dlq = computeJobStats(healthyInput([], { queues: { media: { visible: 0, inFlight: 0, delayed: 0 }, dlq: { visible: 2, inFlight: 1, delayed: 0 }, dlqConfigured: true } }));
    assert.deepEqual(dlq.health, { status: "degraded", reasons: ["3 message(s) in the dead-letter queue"] });
    const backlog = computeJobStats(healthyInput([], { queues: { media: { visible: 41, inFlight: 2, delayed: 0 }, dlq: { visible: 0, inFlight: 0, delayed: 0 }, dlqConfigured: true } }));
    assert.deepEqual(backlog.health, { status: "degraded", reasons: ["backlog of 41 messages for a capacity of 2 jobs at once"] });
    const fourOfFive = [job("completed"), job("completed"), job("completed"), job("completed"), job("failed", "image", { errorCategory: "processing" })];
    assert.equal(computeJobStats(healthyInput(fourOfFive)).health.status, "degraded");
    const twoOfFive = [job("completed"), job("completed"), job("failed"), job("failed"), job("failed")];
    assert.deepEqual(computeJobStats(healthyInput(twoOfFive)).health, { status: "unhealthy", reasons: ["success rate 40 % over the last 10 min"] });
    assert.equal(computeJobStats(healthyInput([job("failed"), job("failed")])).health.status, "healthy", "too few finished jobs to judge a rate");
    assert.equal(computeJobStats(healthyInput([job("failed")])).errors.byCategory.unknown?.count, 1, "a failure without a category is still counted");
  });
});

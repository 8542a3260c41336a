import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { computeJobStats } from "../../src/api/job-stats.ts";
import { jobIdFor, type JobSource } from "../../src/jobs/job.model.ts";
import { startStoreHarness, type StoreHarness } from "../helpers/redis-store.ts";

/**
 * The counters the transition scripts keep, read back as stats: what happened is counted in
 * the minute and hour it happened, and a bucket whose time is over is read from Redis once.
 */
describe("job counters (real Redis)", () => {
  let h: StoreHarness;
  before(async () => {
    h = await startStoreHarness();
  });
  after(async () => {
    await h.stop();
  });

  test("stats computed from the counters match what the transitions did", async () => {
    const t = h.store();
    const start = t.now();
    const run = async (key: string, type: string, outcome: "completed" | "failed", durationMs: number) => {
      const source: JobSource = { bucket: "b", key, eTag: "e" };
      const id = jobIdFor(source);
      const claim = await t.store.claim({ id, source, tenantId: "acme", userId: undefined, messageId: key });
      await t.store.setType(id, type);
      t.advance(durationMs);
      if (outcome === "completed") await t.store.complete(id, claim.leaseToken, {}, t.now() - durationMs);
      else
        await t.store.fail(
          id,
          claim.leaseToken,
          { category: "processing", code: "corrupt", message: "x", retryable: false },
          t.now() - durationMs,
        );
    };
    await run("a", "image", "completed", 300);
    await run("b", "image", "completed", 900);
    await run("c", "video", "failed", 2_000);
    await t.store.enqueue({
      id: "0123456789abcdef01234567",
      source: { bucket: "b", key: "d" },
      tenantId: undefined,
      userId: undefined,
      via: "test",
    });
    const now = t.now();
    const stats = computeJobStats({
      buckets: await t.store.counters.read(start - 60_000, now, now),
      inStore: await t.store.countsByStatus(),
      windowMinutes: 5,
      nowMs: now,
      queues: { media: undefined, dlq: undefined, dlqConfigured: false },
      workers: [],
    });
    assert.deepEqual(stats.jobs.byStatus, { queued: 1, processing: 0, completed: 2, failed: 1, cancelled: 0 });
    assert.equal(stats.jobs.total, 4);
    assert.deepEqual(stats.errors.byType, {
      image: { failed: 0, finished: 2, rate: 0 },
      video: { failed: 1, finished: 1, rate: 1 },
    });
    assert.deepEqual(stats.errors.byCode, { corrupt: { count: 1, rate: 0.3333 } });
    assert.deepEqual(stats.durations.image, { count: 2, avgMs: 600, minMs: 300, maxMs: 900, p95Ms: 900 });
    assert.equal(stats.latency?.count, 2);
  });

  test("a closed bucket is read once; the open one is read every time", async () => {
    const t = h.store();
    const minute = Math.floor(t.now() / 60_000);
    const key = (offset: number) => `${t.prefix}stats:m:${minute + offset}`;
    await h.redis.hset(key(0), "created", 1);
    await h.redis.hset(key(1), "created", 1);
    const now = (minute + 3) * 60_000 - 1; // minute+0 closed (ended 3 min ago); minute+1 ended 1 min - 1 ms ago: still open
    const first = await t.store.counters.read(minute * 60_000, now, now);
    assert.deepEqual(
      first.slice(0, 2).map((bucket) => bucket.counts.created),
      [1, 1],
    );
    await h.redis.hset(key(0), "created", 5);
    await h.redis.hset(key(1), "created", 5);
    const second = await t.store.counters.read(minute * 60_000, now, now);
    assert.deepEqual(
      second.slice(0, 2).map((bucket) => bucket.counts.created),
      [1, 5],
      "the closed bucket came from memory, the open one from Redis",
    );
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { addHistogram, emptyHistogram, histogramQuantile, histogramStats } from "../../src/api/duration-histogram.ts";
import { computeJobStats, type StatsInput } from "../../src/api/job-stats.ts";
import type { CounterBucket } from "../../src/jobs/job-counters.ts";
import { DURATION_BUCKET_BOUNDS_MS } from "../../src/jobs/lua-helpers.ts";

/** The pure stats computation over counter buckets, its duration histogram, and its health verdict. */
const now = Date.parse("2025-01-01T12:00:00Z");
const inStore = (extra: Partial<StatsInput["inStore"]> = {}): StatsInput["inStore"] => ({
  queued: 0,
  processing: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  ...extra,
});

/** The counter fields the transition scripts would write for these durations of one type. */
function durationCounts(name: string, values: number[]): Record<string, number> {
  const counts: Record<string, number> = {
    [`${name}:n`]: values.length,
    [`${name}:sum`]: values.reduce((a, b) => a + b, 0),
    [`${name}:min`]: Math.min(...values),
    [`${name}:max`]: Math.max(...values),
  };
  for (const value of values) {
    const slot = DURATION_BUCKET_BOUNDS_MS.findIndex((bound) => value <= bound);
    const field = `${name}:b${(slot < 0 ? DURATION_BUCKET_BOUNDS_MS.length : slot) + 1}`;
    counts[field] = (counts[field] ?? 0) + 1;
  }
  return counts;
}
const bucket = (minutesAgo: number, counts: Record<string, number>): CounterBucket => ({
  startMs: now - minutesAgo * 60_000,
  sizeMs: 60_000,
  counts,
});
const healthyInput = (buckets: CounterBucket[], overrides: Partial<StatsInput> = {}): StatsInput => ({
  buckets,
  inStore: inStore(),
  windowMinutes: 10,
  nowMs: now,
  queues: {
    media: { visible: 0, inFlight: 0, delayed: 0 },
    dlq: { visible: 0, inFlight: 0, delayed: 0 },
    dlqConfigured: true,
  },
  workers: [{ id: "w1", concurrency: 2, inFlight: 1, startedAt: now - 60_000, lastSeen: now }],
  ...overrides,
});
const finishedBuckets = (completed: number, failed: number) => [
  bucket(1, {
    "completed:image": completed,
    "failed:image": failed,
    "cat:processing": failed,
    created: completed + failed,
  }),
];

describe("job stats", () => {
  test("duration histogram: exact count/avg/min/max; p95 interpolated within its bucket and never outside [min, max]", () => {
    const values = Array.from({ length: 20 }, (_, index) => (index + 1) * 100);
    const histogram = emptyHistogram();
    addHistogram(histogram, durationCounts("d:image", values), "d:image");
    const stats = histogramStats(histogram)!;
    assert.deepEqual(
      { count: stats.count, avgMs: stats.avgMs, minMs: stats.minMs, maxMs: stats.maxMs },
      { count: 20, avgMs: 1050, minMs: 100, maxMs: 2000 },
    );
    // Rank 19 falls in (1000, 2500], which holds 10 of them: 1000 + 1500 * 9/10 = 2350, past the max.
    assert.equal(stats.p95Ms, 2000, "clamped to the largest value seen");
    const spread = emptyHistogram();
    addHistogram(
      spread,
      durationCounts("d:image", [...new Array<number>(20).fill(100), ...new Array<number>(20).fill(2400)]),
      "d:image",
    );
    assert.equal(histogramQuantile(spread, 0.95), 2350, "rank 38 of 40: 18 of the 20 in (1000, 2500]");
    const one = emptyHistogram();
    addHistogram(one, durationCounts("d:x", [700]), "d:x");
    assert.deepEqual(
      histogramStats(one),
      { count: 1, avgMs: 700, minMs: 700, maxMs: 700, p95Ms: 700 },
      "one value: its bucket's bound is clamped to it",
    );
    const top = emptyHistogram();
    addHistogram(top, durationCounts("d:x", [120, 90_000, 4_000_000]), "d:x");
    assert.equal(histogramQuantile(top, 0.95), 4_000_000, "the open last bucket ends at the max");
    assert.equal(histogramStats(emptyHistogram()), undefined);
  });

  test("outcomes are counted as they finish, queued/processing as they are now; rates are over finished jobs", () => {
    const stats = computeJobStats(
      healthyInput(
        [
          bucket(3, {
            created: 4,
            "completed:image": 1,
            ...durationCounts("d:image", [100]),
            "failed:video": 1,
            "cat:processing": 1,
            "code:video-too-long": 1,
          }),
          bucket(1, {
            created: 3,
            "completed:video": 1,
            ...durationCounts("d:video", [5000]),
            "failed:audio": 1,
            "cat:resource": 1,
            "code:timeout": 1,
            "cancelled:video": 1,
          }),
        ],
        { inStore: inStore({ queued: 1, processing: 1, completed: 40 }) },
      ),
    );
    assert.deepEqual(stats.jobs.byStatus, { queued: 1, processing: 1, completed: 2, failed: 2, cancelled: 1 });
    assert.equal(stats.jobs.total, 7);
    assert.equal(stats.jobs.perMinute, 0.7);
    assert.equal(stats.jobs.finishedPerMinute, 0.4);
    assert.equal(stats.jobs.inStore.completed, 40);
    assert.equal(stats.successRate, 0.5);
    assert.deepEqual(stats.errors.byType, {
      image: { failed: 0, finished: 1, rate: 0 },
      video: { failed: 1, finished: 2, rate: 0.5 },
      audio: { failed: 1, finished: 1, rate: 1 },
    });
    assert.deepEqual(stats.errors.byCategory, {
      processing: { count: 1, rate: 0.25 },
      resource: { count: 1, rate: 0.25 },
    });
    assert.deepEqual(stats.errors.byCode, {
      "video-too-long": { count: 1, rate: 0.25 },
      timeout: { count: 1, rate: 0.25 },
    });
    assert.deepEqual(Object.keys(stats.durations).sort(), ["image", "video"]);
    assert.equal(stats.durations.video?.maxMs, 5000);
    assert.deepEqual(
      stats.workers && {
        alive: stats.workers.alive,
        capacity: stats.workers.capacity,
        inFlight: stats.workers.inFlight,
      },
      { alive: 1, capacity: 2, inFlight: 1 },
    );
    assert.deepEqual(stats.window, {
      minutes: 10,
      since: "2025-01-01T11:50:00.000Z",
      until: "2025-01-01T12:00:00.000Z",
    });
  });

  test("history has one point per bucket with its outcomes and durations", () => {
    const stats = computeJobStats(
      healthyInput([
        bucket(2, {}),
        bucket(1, { created: 2, "completed:image": 2, ...durationCounts("d:image", [200, 400]), "failed:image": 1 }),
      ]),
    );
    assert.equal(stats.history.bucketMinutes, 1);
    assert.deepEqual(stats.history.points, [
      {
        at: "2025-01-01T11:58:00.000Z",
        created: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        durationAvgMs: null,
        durationP95Ms: null,
      },
      {
        at: "2025-01-01T11:59:00.000Z",
        created: 2,
        completed: 2,
        failed: 1,
        cancelled: 0,
        durationAvgMs: 300,
        durationP95Ms: 400,
      },
    ]);
  });

  test("healthy with no jobs at all; success rate is null, not 0 or 1", () => {
    const stats = computeJobStats(healthyInput([]));
    assert.equal(stats.successRate, null);
    assert.equal(stats.latency, null);
    assert.deepEqual(stats.health, { status: "healthy", reasons: [] });
  });

  test("verdict: no live worker or an unreadable queue is unhealthy; DLQ messages, backlog and a low success rate degrade", () => {
    assert.deepEqual(computeJobStats(healthyInput([], { workers: [] })).health, {
      status: "unhealthy",
      reasons: ["no worker is alive: nothing processes new uploads"],
    });
    assert.equal(computeJobStats(healthyInput([], { workers: undefined })).health.status, "unhealthy");
    assert.equal(
      computeJobStats(healthyInput([], { queues: { media: undefined, dlq: undefined, dlqConfigured: true } })).health
        .status,
      "unhealthy",
    );
    assert.deepEqual(
      computeJobStats(
        healthyInput([], {
          queues: { media: { visible: 0, inFlight: 0, delayed: 0 }, dlq: undefined, dlqConfigured: false },
        }),
      ).health.status,
      "healthy",
      "no DLQ configured is not a problem",
    );
    const dlq = computeJobStats(
      healthyInput([], {
        queues: {
          media: { visible: 0, inFlight: 0, delayed: 0 },
          dlq: { visible: 2, inFlight: 1, delayed: 0 },
          dlqConfigured: true,
        },
      }),
    );
    assert.deepEqual(dlq.health, { status: "degraded", reasons: ["3 message(s) in the dead-letter queue"] });
    const backlog = computeJobStats(
      healthyInput([], {
        queues: {
          media: { visible: 41, inFlight: 2, delayed: 0 },
          dlq: { visible: 0, inFlight: 0, delayed: 0 },
          dlqConfigured: true,
        },
      }),
    );
    assert.deepEqual(backlog.health, {
      status: "degraded",
      reasons: ["backlog of 41 messages for a capacity of 2 jobs at once"],
    });
    assert.equal(computeJobStats(healthyInput(finishedBuckets(4, 1))).health.status, "degraded");
    assert.deepEqual(computeJobStats(healthyInput(finishedBuckets(2, 3))).health, {
      status: "unhealthy",
      reasons: ["success rate 40 % over the last 10 min"],
    });
    assert.equal(
      computeJobStats(healthyInput(finishedBuckets(0, 2))).health.status,
      "healthy",
      "too few finished jobs to judge a rate",
    );
    assert.equal(
      computeJobStats(healthyInput([bucket(1, { "failed:image": 1, "cat:unknown": 1 })])).errors.byCategory.unknown
        ?.count,
      1,
      "a failure without a category is still counted",
    );
  });
});

import { JOB_STATUSES, type JobStatus } from "../jobs/job.model.ts";
import type { CounterBucket } from "../jobs/job-counters.ts";
import type { LiveWorker } from "../jobs/worker.registry.ts";
import type { QueueDepth } from "../queue/queue.stats.ts";
import {
  addHistogram,
  emptyHistogram,
  histogramQuantile,
  histogramStats,
  type DurationHistogram,
  type DurationStats,
} from "./duration-histogram.ts";

export type { DurationStats } from "./duration-histogram.ts";

/**
 * The numbers behind GET /api/media/jobs/stats and the console's tiles and chart, computed from
 * the counters the job transitions keep (pure: stats-source.ts gathers the inputs). Finished
 * jobs are counted when they finish, once per outcome (a job that failed and then completed on
 * a retry counts both); queued and processing are how many are in that state now. Rates are
 * over finished jobs (completed + failed), cancelled ones aside.
 */

export interface StatsInput {
  /** Counter buckets covering the window, oldest first (readCounterBuckets). */
  buckets: CounterBucket[];
  /** Jobs per status in the store now. */
  inStore: Record<JobStatus, number>;
  windowMinutes: number;
  nowMs: number;
  /** Undefined when the queue could not be read; the DLQ also when none is configured. */
  queues: { media: QueueDepth | undefined; dlq: QueueDepth | undefined; dlqConfigured: boolean };
  workers: LiveWorker[] | undefined;
}

export type HealthVerdict = "healthy" | "degraded" | "unhealthy";

export interface HistoryPoint {
  /** Start of the bucket. */
  at: string;
  created: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Processing time of the jobs completed in the bucket, all types together; null when none. */
  durationAvgMs: number | null;
  durationP95Ms: number | null;
}

export interface JobStats {
  window: { minutes: number; since: string; until: string };
  jobs: {
    /** Jobs first seen in the window. */
    total: number;
    /** queued/processing: now; completed/failed/cancelled: finished in the window. */
    byStatus: Record<JobStatus, number>;
    perMinute: number;
    finishedPerMinute: number;
    /** Kept for clients of the first version; counters cover every job, so never true. */
    truncated: boolean;
    /** Every job the store holds, per status (until JOB_STATUS_TTL sweeps it). */
    inStore: Record<JobStatus, number>;
  };
  /** completed / (completed + failed); null before any job finished. */
  successRate: number | null;
  errors: {
    byType: Record<string, { failed: number; finished: number; rate: number }>;
    byCategory: Record<string, { count: number; rate: number }>;
    byCode: Record<string, { count: number; rate: number }>;
  };
  /** Processing time of completed jobs per type. */
  durations: Record<string, DurationStats>;
  /** Upload seen → completed, all types. */
  latency: DurationStats | null;
  history: { bucketMinutes: number; points: HistoryPoint[] };
  queues: { media: QueueDepth | null; dlq: QueueDepth | null };
  workers: { alive: number; capacity: number; inFlight: number; list: LiveWorker[] } | null;
  health: { status: HealthVerdict; reasons: string[] };
}

/**
 * Thresholds of the verdict. Rates only count once a few jobs finished, so one failure right
 * after a deploy does not page anyone.
 */
export const HEALTH_RULES = {
  minFinishedForRates: 5,
  unhealthyBelowSuccessRate: 0.5,
  degradedBelowSuccessRate: 0.9,
  /** Visible messages per unit of worker capacity beyond which the fleet is falling behind. */
  degradedBacklogPerSlot: 20,
} as const;

/** The counters of a window summed: per outcome and type, categories, codes, durations. */
interface Totals {
  created: number;
  byOutcome: { completed: Map<string, number>; failed: Map<string, number>; cancelled: Map<string, number> };
  categories: Map<string, number>;
  codes: Map<string, number>;
  durations: Map<string, DurationHistogram>;
  latency: DurationHistogram;
}

const emptyTotals = (): Totals => ({
  created: 0,
  byOutcome: { completed: new Map(), failed: new Map(), cancelled: new Map() },
  categories: new Map(),
  codes: new Map(),
  durations: new Map(),
  latency: emptyHistogram(),
});
const add = (map: Map<string, number>, key: string, by: number) => map.set(key, (map.get(key) ?? 0) + by);

/**
 * One bucket's counters, grouped. Memoised per bucket object: closed buckets are the same
 * objects call after call (CounterReader keeps them), so a 7-day window groups one bucket.
 */
const grouped = new WeakMap<CounterBucket, Totals>();
function bucketTotals(bucket: CounterBucket): Totals {
  const cached = grouped.get(bucket);
  if (cached) return cached;
  const totals = emptyTotals();
  totals.created = bucket.counts.created ?? 0;
  const durationTypes = new Set<string>();
  for (const [field, value] of Object.entries(bucket.counts)) {
    const [kind, name] = splitOnce(field);
    if (kind === "completed" || kind === "failed" || kind === "cancelled") add(totals.byOutcome[kind], name, value);
    else if (kind === "cat") add(totals.categories, name, value);
    else if (kind === "code") add(totals.codes, name, value);
    else if (kind === "d" && name.endsWith(":n")) durationTypes.add(name.slice(0, -2));
  }
  for (const type of durationTypes) {
    const histogram = emptyHistogram();
    addHistogram(histogram, bucket.counts, `d:${type}`);
    totals.durations.set(type, histogram);
  }
  addHistogram(totals.latency, bucket.counts, "lat");
  grouped.set(bucket, totals);
  return totals;
}

function mergeHistogram(into: DurationHistogram, from: DurationHistogram): void {
  if (from.count === 0) return;
  into.count += from.count;
  into.sumMs += from.sumMs;
  into.minMs = Math.min(into.minMs, from.minMs);
  into.maxMs = Math.max(into.maxMs, from.maxMs);
  for (const [index, count] of from.buckets.entries()) into.buckets[index]! += count;
}

function sumBuckets(buckets: readonly CounterBucket[]): Totals {
  const totals = emptyTotals();
  for (const bucket of buckets) {
    const one = bucketTotals(bucket);
    totals.created += one.created;
    for (const kind of ["completed", "failed", "cancelled"] as const)
      for (const [name, value] of one.byOutcome[kind]) add(totals.byOutcome[kind], name, value);
    for (const [name, value] of one.categories) add(totals.categories, name, value);
    for (const [name, value] of one.codes) add(totals.codes, name, value);
    for (const [type, histogram] of one.durations) {
      const into = totals.durations.get(type) ?? emptyHistogram();
      mergeHistogram(into, histogram);
      totals.durations.set(type, into);
    }
    mergeHistogram(totals.latency, one.latency);
  }
  return totals;
}

export function computeJobStats(input: StatsInput): JobStats {
  const { windowMinutes, nowMs } = input;
  const totals = sumBuckets(input.buckets);
  const sum = (map: Map<string, number>) => [...map.values()].reduce((total, value) => total + value, 0);
  const byStatus: Record<JobStatus, number> = {
    queued: input.inStore.queued,
    processing: input.inStore.processing,
    completed: sum(totals.byOutcome.completed),
    failed: sum(totals.byOutcome.failed),
    cancelled: sum(totals.byOutcome.cancelled),
  };
  const finished = byStatus.completed + byStatus.failed;
  const successRate = finished > 0 ? round(byStatus.completed / finished) : null;

  const byType: JobStats["errors"]["byType"] = {};
  for (const type of new Set([...totals.byOutcome.completed.keys(), ...totals.byOutcome.failed.keys()])) {
    const failed = totals.byOutcome.failed.get(type) ?? 0;
    const typeFinished = failed + (totals.byOutcome.completed.get(type) ?? 0);
    if (typeFinished > 0) byType[type] = { failed, finished: typeFinished, rate: round(failed / typeFinished) };
  }
  const rated = (map: Map<string, number>) =>
    Object.fromEntries(
      [...map]
        .filter(([, count]) => count > 0)
        .map(([name, count]) => [name, { count, rate: finished > 0 ? round(count / finished) : 0 }]),
    );
  const durations: Record<string, DurationStats> = {};
  for (const [type, histogram] of totals.durations) {
    const stats = histogramStats(histogram);
    if (stats) durations[type] = stats;
  }

  const workers = input.workers
    ? {
        alive: input.workers.length,
        capacity: input.workers.reduce((total, worker) => total + worker.concurrency, 0),
        inFlight: input.workers.reduce((total, worker) => total + worker.inFlight, 0),
        list: input.workers,
      }
    : null;
  const windowMs = windowMinutes * 60_000;
  return {
    window: {
      minutes: windowMinutes,
      since: new Date(nowMs - windowMs).toISOString(),
      until: new Date(nowMs).toISOString(),
    },
    jobs: {
      total: totals.created,
      byStatus,
      perMinute: round(totals.created / windowMinutes),
      finishedPerMinute: round(finished / windowMinutes),
      truncated: false,
      inStore: Object.fromEntries(JOB_STATUSES.map((status) => [status, input.inStore[status]])) as Record<
        JobStatus,
        number
      >,
    },
    successRate,
    errors: { byType, byCategory: rated(totals.categories), byCode: rated(totals.codes) },
    durations,
    latency: histogramStats(totals.latency) ?? null,
    history: history(input.buckets),
    queues: { media: input.queues.media ?? null, dlq: input.queues.dlq ?? null },
    workers,
    health: verdict(input, successRate, finished, workers),
  };
}

/** One point per counter bucket: the console's throughput and latency chart. */
function history(buckets: readonly CounterBucket[]): JobStats["history"] {
  const sum = (map: Map<string, number>) => [...map.values()].reduce((total, value) => total + value, 0);
  const points = buckets.map((bucket): HistoryPoint => {
    const totals = bucketTotals(bucket);
    const all = emptyHistogram();
    for (const histogram of totals.durations.values()) mergeHistogram(all, histogram);
    return {
      at: new Date(bucket.startMs).toISOString(),
      created: totals.created,
      completed: sum(totals.byOutcome.completed),
      failed: sum(totals.byOutcome.failed),
      cancelled: sum(totals.byOutcome.cancelled),
      durationAvgMs: all.count > 0 ? Math.round(all.sumMs / all.count) : null,
      durationP95Ms: all.count > 0 ? histogramQuantile(all, 0.95) : null,
    };
  });
  return { bucketMinutes: (buckets[0]?.sizeMs ?? 60_000) / 60_000, points };
}

function verdict(
  input: StatsInput,
  successRate: number | null,
  finished: number,
  workers: JobStats["workers"],
): JobStats["health"] {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const { media, dlq, dlqConfigured } = input.queues;
  if (!media) unhealthy.push("the media queue could not be read");
  if (dlqConfigured && !dlq) degraded.push("the dead-letter queue could not be read");
  if (!workers) unhealthy.push("the worker registry could not be read");
  else if (workers.alive === 0) unhealthy.push("no worker is alive: nothing processes new uploads");
  if (successRate !== null && finished >= HEALTH_RULES.minFinishedForRates) {
    const percent = `${Math.round(successRate * 100)} %`;
    if (successRate < HEALTH_RULES.unhealthyBelowSuccessRate)
      unhealthy.push(`success rate ${percent} over the last ${input.windowMinutes} min`);
    else if (successRate < HEALTH_RULES.degradedBelowSuccessRate)
      degraded.push(`success rate ${percent} over the last ${input.windowMinutes} min`);
  }
  if (dlq && dlq.visible + dlq.inFlight > 0)
    degraded.push(`${dlq.visible + dlq.inFlight} message(s) in the dead-letter queue`);
  if (
    media &&
    workers &&
    workers.capacity > 0 &&
    media.visible > workers.capacity * HEALTH_RULES.degradedBacklogPerSlot
  ) {
    degraded.push(`backlog of ${media.visible} messages for a capacity of ${workers.capacity} jobs at once`);
  }
  if (unhealthy.length > 0) return { status: "unhealthy", reasons: [...unhealthy, ...degraded] };
  if (degraded.length > 0) return { status: "degraded", reasons: degraded };
  return { status: "healthy", reasons: [] };
}

/** `completed:image` → ["completed", "image"]; `d:video:n` → ["d", "video:n"]. */
function splitOnce(field: string): [string, string] {
  const at = field.indexOf(":");
  return at < 0 ? [field, ""] : [field.slice(0, at), field.slice(at + 1)];
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

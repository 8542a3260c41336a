import type { ErrorCategory } from "../errors.ts";
import type { JobStatus } from "../jobs/job.model.ts";
import type { JobSummary } from "../jobs/job.store.ts";
import type { LiveWorker } from "../jobs/worker.registry.ts";
import type { QueueDepth } from "../queue/queue.stats.ts";

/**
 * The numbers behind GET /api/media/jobs/stats and the dashboard's tiles, computed from the
 * jobs created in the window (pure: the route gathers the inputs). A job counts once, in its
 * current state; rates are over finished jobs (completed + failed), cancelled ones aside.
 */

export interface StatsInput {
  jobs: JobSummary[];
  /** The window read was capped at API_STATS_MAX_JOBS. */
  truncated: boolean;
  windowMinutes: number;
  nowMs: number;
  /** Undefined when the queue could not be read; the DLQ also when none is configured. */
  queues: { media: QueueDepth | undefined; dlq: QueueDepth | undefined; dlqConfigured: boolean };
  workers: LiveWorker[] | undefined;
}

export interface DurationStats {
  count: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p95Ms: number;
}

export type HealthVerdict = "healthy" | "degraded" | "unhealthy";

export interface JobStats {
  window: { minutes: number; since: string; until: string };
  jobs: { total: number; byStatus: Record<JobStatus, number>; perMinute: number; finishedPerMinute: number; truncated: boolean };
  /** completed / (completed + failed); null before any job finished. */
  successRate: number | null;
  errors: {
    byType: Record<string, { failed: number; finished: number; rate: number }>;
    byCategory: Record<string, { count: number; rate: number }>;
  };
  durations: Record<string, DurationStats>;
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

export function computeJobStats(input: StatsInput): JobStats {
  const { jobs, windowMinutes, nowMs } = input;
  const byStatus: Record<JobStatus, number> = { queued: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const job of jobs) byStatus[job.status] += 1;
  const finished = byStatus.completed + byStatus.failed;
  const successRate = finished > 0 ? round(byStatus.completed / finished) : null;

  const byType: JobStats["errors"]["byType"] = {};
  const byCategory: JobStats["errors"]["byCategory"] = {};
  const durationsByType = new Map<string, number[]>();
  for (const job of jobs) {
    if (job.status !== "completed" && job.status !== "failed") continue;
    const entry = (byType[job.type] ??= { failed: 0, finished: 0, rate: 0 });
    entry.finished += 1;
    if (job.status === "failed") {
      entry.failed += 1;
      const category: ErrorCategory | "unknown" = job.errorCategory ?? "unknown";
      (byCategory[category] ??= { count: 0, rate: 0 }).count += 1;
    }
    if (job.status === "completed" && job.durationMs !== undefined) {
      const list = durationsByType.get(job.type) ?? [];
      list.push(job.durationMs);
      durationsByType.set(job.type, list);
    }
  }
  for (const entry of Object.values(byType)) entry.rate = round(entry.failed / entry.finished);
  for (const entry of Object.values(byCategory)) entry.rate = round(entry.count / finished);
  const durations: Record<string, DurationStats> = {};
  for (const [type, list] of durationsByType) durations[type] = durationStats(list);

  const workers = input.workers
    ? {
        alive: input.workers.length,
        capacity: input.workers.reduce((sum, worker) => sum + worker.concurrency, 0),
        inFlight: input.workers.reduce((sum, worker) => sum + worker.inFlight, 0),
        list: input.workers,
      }
    : null;
  const windowMs = windowMinutes * 60_000;
  return {
    window: { minutes: windowMinutes, since: new Date(nowMs - windowMs).toISOString(), until: new Date(nowMs).toISOString() },
    jobs: {
      total: jobs.length,
      byStatus,
      perMinute: round(jobs.length / windowMinutes),
      finishedPerMinute: round(finished / windowMinutes),
      truncated: input.truncated,
    },
    successRate,
    errors: { byType, byCategory },
    durations,
    queues: { media: input.queues.media ?? null, dlq: input.queues.dlq ?? null },
    workers,
    health: verdict(input, successRate, finished, workers),
  };
}

/** p95 by nearest rank: the smallest value at or above 95 % of the sorted durations. */
export function durationStats(values: number[]): DurationStats {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(0.95 * sorted.length));
  return {
    count: sorted.length,
    avgMs: Math.round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    p95Ms: sorted[rank - 1]!,
  };
}

function verdict(input: StatsInput, successRate: number | null, finished: number, workers: JobStats["workers"]): JobStats["health"] {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const { media, dlq, dlqConfigured } = input.queues;
  if (!media) unhealthy.push("the media queue could not be read");
  if (dlqConfigured && !dlq) degraded.push("the dead-letter queue could not be read");
  if (!workers) unhealthy.push("the worker registry could not be read");
  else if (workers.alive === 0) unhealthy.push("no worker is alive: nothing processes new uploads");
  if (successRate !== null && finished >= HEALTH_RULES.minFinishedForRates) {
    const percent = `${Math.round(successRate * 100)} %`;
    if (successRate < HEALTH_RULES.unhealthyBelowSuccessRate) unhealthy.push(`success rate ${percent} over the last ${input.windowMinutes} min`);
    else if (successRate < HEALTH_RULES.degradedBelowSuccessRate) degraded.push(`success rate ${percent} over the last ${input.windowMinutes} min`);
  }
  if (dlq && dlq.visible + dlq.inFlight > 0) degraded.push(`${dlq.visible + dlq.inFlight} message(s) in the dead-letter queue`);
  if (media && workers && workers.capacity > 0 && media.visible > workers.capacity * HEALTH_RULES.degradedBacklogPerSlot) {
    degraded.push(`backlog of ${media.visible} messages for a capacity of ${workers.capacity} jobs at once`);
  }
  if (unhealthy.length > 0) return { status: "unhealthy", reasons: [...unhealthy, ...degraded] };
  if (degraded.length > 0) return { status: "degraded", reasons: degraded };
  return { status: "healthy", reasons: [] };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

import type { ApiDeps } from "./api-deps.ts";
import type { QueueDepthSnapshot } from "./queue-depths.ts";
import { computeJobStats, type JobStats } from "./job-stats.ts";

/**
 * Gathers what stats are computed from: the window's counter buckets and the per-status gauges
 * (Redis, a cost that does not grow with the number of jobs), the latest queue depths (polled
 * in the background, queue-depths.ts) and the live workers (Redis). A queue or the registry
 * that cannot be read shows as null and turns the verdict, rather than failing the whole
 * request: an operator needs the page most then.
 */
export async function gatherJobStats(
  deps: Pick<ApiDeps, "store" | "workers" | "queueDepths" | "config" | "logger">,
  windowMinutes: number,
  nowMs = Date.now(),
): Promise<JobStats> {
  const [buckets, inStore, workers] = await Promise.all([
    deps.store.counters.read(nowMs - windowMinutes * 60_000, nowMs, nowMs),
    deps.store.countsByStatus(),
    deps.workers.alive().catch((error: unknown) => {
      deps.logger.warn({ err: error }, "stats: could not read the worker registry");
      return undefined;
    }),
  ]);
  const { media, dlq } = gatherQueueDepths(deps);
  return computeJobStats({
    buckets,
    inStore,
    windowMinutes,
    nowMs,
    queues: { media, dlq, dlqConfigured: deps.config.queue.dlqUrl !== undefined },
    workers,
  });
}

/** The latest depths of the media queue, the DLQ and the intake queue; undefined where unreadable or not configured. */
export function gatherQueueDepths(deps: Pick<ApiDeps, "queueDepths">): QueueDepthSnapshot {
  return deps.queueDepths.latest();
}

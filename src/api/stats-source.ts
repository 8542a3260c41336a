import { readCounterBuckets } from "../jobs/job-counters.ts";
import type { QueueDepth } from "../queue/queue.stats.ts";
import { getQueueDepth } from "../queue/queue.stats.ts";
import type { ApiDeps } from "./api-deps.ts";
import { computeJobStats, type JobStats } from "./job-stats.ts";

/**
 * Gathers what stats are computed from: the window's counter buckets and the per-status gauges
 * (Redis, a cost that does not grow with the number of jobs), both queue depths (SQS) and the
 * live workers (Redis). A queue or the registry that cannot be read shows as null and turns the
 * verdict, rather than failing the whole request: an operator needs the page most then.
 */
export async function gatherJobStats(deps: Pick<ApiDeps, "store" | "workers" | "sqs" | "config" | "logger">, windowMinutes: number, nowMs = Date.now()): Promise<JobStats> {
  const [buckets, inStore, queues, workers] = await Promise.all([
    readCounterBuckets(deps.store.redis, deps.store.keyPrefix, nowMs - windowMinutes * 60_000, nowMs),
    deps.store.countsByStatus(),
    gatherQueueDepths(deps),
    deps.workers.alive().catch((error: unknown) => {
      deps.logger.warn({ err: error }, "stats: could not read the worker registry");
      return undefined;
    }),
  ]);
  return computeJobStats({ buckets, inStore, windowMinutes, nowMs, queues: { ...queues, dlqConfigured: deps.config.queue.dlqUrl !== undefined }, workers });
}

/** Depths of the media queue, the DLQ and the intake queue (when configured); undefined where unreadable. */
export async function gatherQueueDepths(deps: Pick<ApiDeps, "sqs" | "config" | "logger">): Promise<{ media: QueueDepth | undefined; dlq: QueueDepth | undefined; intake: QueueDepth | undefined }> {
  const { queueUrl, dlqUrl, intakeQueueUrl } = deps.config.queue;
  const depth = (url: string | undefined): Promise<QueueDepth | undefined> =>
    url
      ? getQueueDepth(deps.sqs, url).catch((error: unknown) => {
          deps.logger.warn({ err: error, queueUrl: url }, "stats: could not read queue depth");
          return undefined;
        })
      : Promise.resolve(undefined);
  const [media, dlq, intake] = await Promise.all([depth(queueUrl), depth(dlqUrl), depth(intakeQueueUrl)]);
  return { media, dlq, intake };
}

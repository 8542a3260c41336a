import type { QueueDepth } from "../queue/queue.stats.ts";
import { getQueueDepth } from "../queue/queue.stats.ts";
import type { ApiDeps } from "./api-deps.ts";
import { computeJobStats, type JobStats } from "./job-stats.ts";

/**
 * Gathers what stats are computed from: the window's jobs (Redis), both queue depths (SQS) and
 * the live workers (Redis). A queue or the registry that cannot be read shows as null and turns
 * the verdict, rather than failing the whole request: an operator needs the page most then.
 */
export async function gatherJobStats(deps: Pick<ApiDeps, "store" | "workers" | "sqs" | "config" | "logger">, windowMinutes: number): Promise<JobStats> {
  const nowMs = Date.now();
  const { queueUrl, dlqUrl } = deps.config.queue;
  const depth = (url: string | undefined): Promise<QueueDepth | undefined> =>
    url
      ? getQueueDepth(deps.sqs, url).catch((error: unknown) => {
          deps.logger.warn({ err: error, queueUrl: url }, "stats: could not read queue depth");
          return undefined;
        })
      : Promise.resolve(undefined);
  const [window, media, dlq, workers] = await Promise.all([
    deps.store.summaries(nowMs - windowMinutes * 60_000, nowMs, deps.config.api.statsMaxJobs),
    depth(queueUrl),
    depth(dlqUrl),
    deps.workers.alive().catch((error: unknown) => {
      deps.logger.warn({ err: error }, "stats: could not read the worker registry");
      return undefined;
    }),
  ]);
  return computeJobStats({ jobs: window.jobs, truncated: window.truncated, windowMinutes, nowMs, queues: { media, dlq, dlqConfigured: dlqUrl !== undefined }, workers });
}

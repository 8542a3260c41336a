import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Fate } from "./outcome.ts";

/**
 * Carries out a fate's metrics and log line; what they are is decided in outcome.ts. `type` is
 * the job's type label, `durationSec` the run's duration (for a fate that observes it), `fields`
 * what the log line says besides its message, `lane` the lane the job ran in (media_lane_jobs_total).
 */
export function countAndLog(
  fate: Fate,
  deps: { metrics: Metrics; logger: Logger },
  context: { type?: string; durationSec?: number; fields?: Record<string, unknown>; lane?: string } = {},
): void {
  const { metrics, logger } = deps;
  const type = context.type ?? "pending";
  const labels = fate.metricLabels;
  if (labels.jobErrors) metrics.jobErrors.inc({ type, category: labels.jobErrors.category });
  if (labels.jobsTotal) metrics.jobsTotal.inc({ type, status: labels.jobsTotal.status });
  if (labels.jobsTotal && context.lane) metrics.laneJobs.inc({ lane: context.lane, status: labels.jobsTotal.status });
  if (labels.jobDuration && context.durationSec !== undefined)
    metrics.jobDuration.observe({ type }, context.durationSec);
  if (labels.messagesDropped) metrics.messagesDropped.inc({ reason: labels.messagesDropped.reason });
  if (fate.log) logger[fate.log.level](context.fields ?? {}, fate.log.message);
}

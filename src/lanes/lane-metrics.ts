import type { SQSClient } from "@aws-sdk/client-sqs";
import type { LaneSettings } from "../config/config.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { getQueueDepth } from "../queue/queue.stats.ts";
import type { FairShare } from "./fair-share.ts";

/** How many tenants per lane the waiting-work gauge shows: label cardinality stays bounded. */
export const TOP_WAITING_TENANTS = 10;

/**
 * Polls each lane's queue depth into media_lane_queue_messages{lane,state} (its backlog queue's,
 * if it has one, as state `backlog`) and the tenants with
 * the most deferred work into media_lane_tenant_waiting_messages{lane,tenant} (top ten per lane;
 * the gauge is reset each poll so a tenant that stopped waiting leaves it). Returns a stop function.
 */
export function startLaneTenantPoller(options: {
  sqs: SQSClient;
  lanes: LaneSettings[];
  fairShares: FairShare[];
  metrics: Metrics;
  intervalMs: number;
  logger: Logger;
}): () => void {
  const { sqs, lanes, fairShares, metrics, logger } = options;
  const poll = async () => {
    for (const lane of lanes) {
      try {
        const depth = await getQueueDepth(sqs, lane.queueUrl);
        metrics.laneQueueMessages.set({ lane: lane.name, state: "visible" }, depth.visible);
        metrics.laneQueueMessages.set({ lane: lane.name, state: "in_flight" }, depth.inFlight);
        metrics.laneQueueMessages.set({ lane: lane.name, state: "delayed" }, depth.delayed);
        if (lane.backlogQueueUrl) {
          // The backlog is the lane's work too (a flood's surplus): one series, every state.
          const backlog = await getQueueDepth(sqs, lane.backlogQueueUrl);
          metrics.laneQueueMessages.set(
            { lane: lane.name, state: "backlog" },
            backlog.visible + backlog.inFlight + backlog.delayed,
          );
        }
      } catch (error) {
        logger.warn({ err: error, lane: lane.name }, "could not read lane queue depth");
      }
    }
    const rows: Array<{ lane: string; tenant: string; waiting: number }> = [];
    for (const fairShare of fairShares) {
      if (!fairShare.enabled) continue;
      try {
        for (const row of await fairShare.waitingTenants(TOP_WAITING_TENANTS))
          rows.push({ lane: fairShare.lane, ...row });
      } catch (error) {
        logger.debug({ err: error }, "could not read waiting tenants");
      }
    }
    metrics.laneTenantWaiting.reset();
    for (const row of rows) metrics.laneTenantWaiting.set({ lane: row.lane, tenant: row.tenant }, row.waiting);
  };
  void poll();
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

import type { LaneSettings } from "../config/config.ts";
import type { LiveWorker } from "../jobs/worker.registry.ts";
import type { WaitingTenant } from "../lanes/fair-share.ts";
import type { QueueDepth } from "../queue/queue.stats.ts";
import type { QueueDepthSnapshot } from "./queue-depths.ts";

/** Tenants per lane the queues view lists by deferred work (the metric's top ten too). */
export const LANE_TENANTS_SHOWN = 10;

/** One lane as GET /api/media/queues and the console show it. */
export interface LaneView {
  name: string;
  kinds: string[];
  /** The lane every upload's event reaches first (it routes the others). */
  entry: boolean;
  /** Its queue's depth; null when unreadable or not polled yet. */
  queue: QueueDepth | null;
  /** Its backlog queue's depth (FAIR_SHARE_BACKLOG_QUEUE_URLS): a flood's surplus waiting; null without one, or unreadable. */
  backlog: QueueDepth | null;
  /** Live workers serving it, and their running slots for it (its capacity). */
  workers: number;
  slots: number;
  /** Tenants with the most messages put back by the fair share and not yet back, most first. */
  waitingTenants: WaitingTenant[];
}

/**
 * The lanes beside the queues: depth from the background poll, capacity from the worker
 * registry, waiting tenants from the fair share's Redis state. With one lane (no MEDIA_LANES)
 * the list is empty: the media queue is the whole story. A lane whose tenants cannot be read
 * shows none rather than failing the view.
 */
export async function laneViews(input: {
  lanes: readonly LaneSettings[];
  depths: QueueDepthSnapshot;
  workers: readonly LiveWorker[] | undefined;
  waitingTenants: ((lane: string, limit: number) => Promise<WaitingTenant[]>) | undefined;
}): Promise<LaneView[]> {
  if (input.lanes.length < 2) return [];
  return Promise.all(
    input.lanes.map(async (lane, index) => {
      const polled = input.depths.lanes.find((each) => each.name === lane.name);
      const serving = (input.workers ?? []).filter((worker) => (worker.lanes?.[lane.name] ?? 0) > 0);
      const waitingTenants = input.waitingTenants
        ? await input.waitingTenants(lane.name, LANE_TENANTS_SHOWN).catch(() => [])
        : [];
      return {
        name: lane.name,
        kinds: lane.kinds,
        entry: index === 0,
        queue: polled?.depth ?? null,
        backlog: polled?.backlog ?? null,
        workers: serving.length,
        slots: serving.reduce((sum, worker) => sum + (worker.lanes?.[lane.name] ?? 0), 0),
        waitingTenants,
      };
    }),
  );
}

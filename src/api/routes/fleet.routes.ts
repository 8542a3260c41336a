import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";
import { laneViews } from "../lane-view.ts";
import { principalOf, requireFleetToken } from "../auth.ts";
import { notFound } from "../problem.ts";
import { gatherQueueDepths } from "../stats-source.ts";
import { actionIdParams, emptyQuery, parseRequest } from "../validation.ts";

/** How many processing jobs the workers view reads to show each worker's current jobs. */
const CURRENT_JOBS_SHOWN = 200;

/**
 * Fleet views: queue depths (and lanes), busy workers with their current jobs, and the background actions
 * (redrives, bulk actions). A tenant-limited token sees only its own actions.
 */
export function fleetRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.get("/api/media/queues", async (request, response) => {
    requireFleetToken(principalOf(response));
    parseRequest(emptyQuery, request.query, "query");
    const depths = gatherQueueDepths(deps);
    const several = deps.config.lanes.all.length > 1;
    const [jobs, workers] = await Promise.all([
      deps.store.countsByStatus(),
      several ? deps.workers.alive().catch(() => undefined) : Promise.resolve(undefined),
    ]);
    response.json({
      media: depths.media ?? null,
      dlq: depths.dlq ?? null,
      intake: depths.intake ?? null,
      lanes: await laneViews({ lanes: deps.config.lanes.all, depths, workers, waitingTenants: deps.waitingTenants }),
      observedAt: depths.at > 0 ? new Date(depths.at).toISOString() : null,
      jobs,
    });
  });

  router.get("/api/media/workers", async (request, response) => {
    requireFleetToken(principalOf(response));
    parseRequest(emptyQuery, request.query, "query");
    // Current jobs come from the processing index (exact, O(page)), not from the heartbeats.
    const [workers, processing] = await Promise.all([
      deps.workers.alive(),
      deps.store.list({ status: "processing", limit: CURRENT_JOBS_SHOWN }),
    ]);
    const now = Date.now();
    const jobsOf = (id: string) =>
      processing.jobs
        .filter((job) => job.workerId === id)
        .map((job) => ({
          id: job.id,
          type: job.type,
          key: job.source.key,
          progress: job.progress,
          startedAt: job.startedAt ?? null,
          elapsedMs: job.startedAt ? now - Date.parse(job.startedAt) : null,
          cancelRequested: job.cancelRequested === true,
        }));
    response.json({ workers: workers.map((worker) => ({ ...worker, jobs: jobsOf(worker.id) })) });
  });

  router.get("/api/media/actions", async (request, response) => {
    const principal = principalOf(response);
    parseRequest(emptyQuery, request.query, "query");
    const actions = await deps.actionStore.list(50);
    response.json({
      actions: actions.filter((action) => principal.tenant === undefined || action.tenant === principal.tenant),
    });
  });

  router.get("/api/media/actions/:id", async (request, response) => {
    const principal = principalOf(response);
    const { id } = parseRequest(actionIdParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    const action = await deps.actionStore.get(id);
    if (!action || (principal.tenant !== undefined && action.tenant !== principal.tenant))
      throw notFound(`no action ${id} (actions are kept for a day)`);
    response.json({ action });
  });
  return router;
}

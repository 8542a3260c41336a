import { Router, type Response } from "express";
import type { JobRecord } from "../../jobs/job.model.ts";
import type { ApiDeps } from "../api-deps.ts";
import { gatherJobStats } from "../stats-source.ts";
import { presignOutputs } from "../output-links.ts";
import { conflict, notFound } from "../problem.ts";
import { fromStoreCursor, jobIdParams, listQuery, parseRequest, retryQuery, statsQuery, toStoreCursor } from "../validation.ts";

/** /api/media/jobs…: list, stats, inspect, outputs, retry, cancel. */
export function jobRoutes(deps: ApiDeps): Router {
  const router = Router();
  const { store, actions } = deps;

  router.get("/api/media/jobs", async (request, response) => {
    const query = parseRequest(listQuery, request.query, "query");
    const page = await store.list({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(query.tenant ? { tenantId: query.tenant } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.cursor ? { cursor: toStoreCursor(query.cursor) } : {}),
    });
    response.json({ jobs: page.jobs.map(summaryOf), nextCursor: page.nextCursor ? fromStoreCursor(page.nextCursor) : null });
  });

  // Before /:id, which would otherwise see "stats" as an id.
  router.get("/api/media/jobs/stats", async (request, response) => {
    const { windowMinutes } = parseRequest(statsQuery, request.query, "query");
    response.json(await gatherJobStats(deps, windowMinutes));
  });

  router.get("/api/media/jobs/:id", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const job = await store.get(id);
    if (!job) throw notFound(`no job ${id}`);
    response.json(job);
  });

  router.get("/api/media/jobs/:id/outputs", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const job = await store.get(id);
    if (!job) throw notFound(`no job ${id}`);
    response.json(await presignOutputs(deps.s3, job, deps.config.storage.outputBucket, deps.config.api.presignExpirySec));
  });

  const retry = async (request: { params: unknown; query: unknown }, response: Response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const { force } = parseRequest(retryQuery, request.query, "query");
    const outcome = await actions.retry(id, force);
    if (outcome.kind === "missing") throw notFound(`no job ${id}`);
    if (outcome.kind === "conflict") throw conflict("job-not-retryable", outcome.detail, { jobStatus: outcome.status });
    response.status(202).json({ job: outcome.job, messageId: outcome.messageId });
  };
  // The seed's path and the explicit one do the same.
  router.post("/api/media/jobs/:id", retry);
  router.post("/api/media/jobs/:id/retry", retry);

  router.delete("/api/media/jobs/:id", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const outcome = await actions.cancel(id);
    if (outcome.kind === "missing") throw notFound(`no job ${id}`);
    if (outcome.kind === "conflict") throw conflict("job-finished", `the job is already ${outcome.status}`, { jobStatus: outcome.status });
    response.status(outcome.kind === "cancelled" ? 200 : 202).json({ job: outcome.job, outcome: outcome.kind });
  });

  return router;
}

/** A listed job: no timeline, no result (GET /api/media/jobs/:id has them). */
function summaryOf(job: JobRecord): Omit<JobRecord, "timeline" | "result"> {
  const { timeline: _timeline, result: _result, ...summary } = job;
  return summary;
}

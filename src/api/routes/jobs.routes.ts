import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Router, type Request, type Response } from "express";
import type { Readable } from "node:stream";
import { fromAwsError } from "../../errors.ts";
import type { ApiDeps } from "../api-deps.ts";
import { canSeeTenant, principalOf, requireFleetToken, requireScope, type Principal } from "../auth.ts";
import { runBulkAction } from "../bulk-actions.ts";
import { rewritePlaylist } from "../hls-playlist.ts";
import type { JobStats } from "../job-stats.ts";
import { hlsFolderOf, presignOutputs } from "../output-links.ts";
import { conflict, HttpProblem, notFound } from "../problem.ts";
import { SharedCache } from "../shared-cache.ts";
import { gatherJobStats } from "../stats-source.ts";
import {
  BULK_MAX_JOBS,
  bulkBody,
  emptyQuery,
  hlsQuery,
  jobIdParams,
  keyCursor,
  listQuery,
  parseCursor,
  parseRequest,
  retryQuery,
  statsQuery,
  timeCursor,
} from "../validation.ts";

/** /api/media/jobs…: list and search, stats, inspect, outputs and the HLS player, retry, cancel, bulk actions. */
export function jobRoutes(deps: ApiDeps): Router {
  const router = Router();
  const { store, actions } = deps;
  const statsCache = new SharedCache<JobStats>(deps.config.api.statsCacheMs);

  router.get("/api/media/jobs", async (request, response) => {
    const query = parseRequest(listQuery, request.query, "query");
    const tenantId = tenantFilter(principalOf(response), query.tenant);
    const filters = {
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
    };
    const cursor = query.cursor ? parseCursor(query.cursor) : undefined;
    if (query.key !== undefined || query.keyPrefix !== undefined) {
      const page = await store.searchByKey({
        ...filters,
        ...(query.key !== undefined ? { key: query.key } : { keyPrefix: query.keyPrefix! }),
        ...(cursor?.kind === "key" ? { after: cursor.after } : {}),
      });
      response.json({
        jobs: page.jobs,
        nextCursor: page.resumeAfter !== undefined ? keyCursor(page.resumeAfter) : null,
      });
      return;
    }
    const page = await store.list({ ...filters, ...(cursor?.kind === "time" ? { cursor: cursor.cursor } : {}) });
    response.json({ jobs: page.jobs, nextCursor: page.nextCursor ? timeCursor(page.nextCursor) : null });
  });

  // Before /:id, which would otherwise see "stats" as an id.
  router.get("/api/media/jobs/stats", async (request, response) => {
    requireFleetToken(principalOf(response));
    const { windowMinutes } = parseRequest(statsQuery, request.query, "query");
    response.json(await statsCache.get(String(windowMinutes), () => gatherJobStats(deps, windowMinutes)));
  });

  router.post("/api/media/jobs/bulk", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(bulkBody, request.body ?? {}, "body");
    const tenantId = tenantFilter(principal, body.filter.tenant);
    const bulk = {
      action: body.action,
      filter: {
        ...(body.filter.status ? { status: body.filter.status } : {}),
        ...(body.filter.type ? { type: body.filter.type } : {}),
        ...(tenantId !== undefined ? { tenantId } : {}),
        ...(body.filter.since !== undefined ? { since: body.filter.since } : {}),
        ...(body.filter.until !== undefined ? { until: body.filter.until } : {}),
      },
      force: body.force ?? false,
      maxJobs: body.maxJobs ?? BULK_MAX_JOBS,
    };
    const action = await deps.actionStore.start(
      body.action === "retry" ? "bulk-retry" : "bulk-cancel",
      principal,
      body,
      (report) => runBulkAction(store, actions, bulk, principal, report),
    );
    response.status(202).location(`/api/media/actions/${action.id}`).json({ action });
  });

  router.get("/api/media/jobs/:id", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    response.json(await visibleJob(deps, principalOf(response), id));
  });

  router.get("/api/media/jobs/:id/outputs", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    const job = await visibleJob(deps, principalOf(response), id);
    response.json(
      await presignOutputs(deps.presigner, job, deps.config.storage.outputBucket, deps.config.api.presignExpirySec),
    );
  });

  router.get("/api/media/jobs/:id/hls", async (request, response) => {
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const { file } = parseRequest(hlsQuery, request.query, "query");
    const job = await visibleJob(deps, principalOf(response), id);
    const folder = hlsFolderOf(job);
    if (!folder) throw notFound(`job ${id} has no HLS ladder`);
    await streamHlsFile(deps, response, job.source.bucket, `${folder}/${file}`, file);
  });

  const retry = async (request: Request, response: Response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    const { id } = parseRequest(jobIdParams, request.params, "path");
    const { force } = parseRequest(retryQuery, request.query, "query");
    const outcome = await actions.retry(id, force, principal);
    if (outcome.kind === "missing") throw notFound(`no job ${id}`);
    if (outcome.kind === "conflict") throw conflict("job-not-retryable", outcome.detail, { jobStatus: outcome.status });
    response.status(202).json({ job: outcome.job, messageId: outcome.messageId });
  };
  // The seed's path and the explicit one do the same.
  router.post("/api/media/jobs/:id", retry);
  router.post("/api/media/jobs/:id/retry", retry);

  router.delete("/api/media/jobs/:id", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    const { id } = parseRequest(jobIdParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    const outcome = await actions.cancel(id, principal);
    if (outcome.kind === "missing") throw notFound(`no job ${id}`);
    if (outcome.kind === "conflict")
      throw conflict("job-finished", `the job is already ${outcome.status}`, { jobStatus: outcome.status });
    response.status(outcome.kind === "cancelled" ? 200 : 202).json({ job: outcome.job, outcome: outcome.kind });
  });

  return router;
}

/** The tenant a list or bulk action is limited to: the token's own, which a different `tenant` may not override. */
function tenantFilter(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.tenant === undefined) return requested;
  if (requested !== undefined && requested !== principal.tenant) {
    throw new HttpProblem(403, "tenant-scoped-token", `token ${principal.id} is limited to tenant ${principal.tenant}`);
  }
  return principal.tenant;
}

/** The job, or 404 — also for a job of another tenant, so a tenant token cannot probe for ids. */
async function visibleJob(deps: ApiDeps, principal: Principal, id: string) {
  const job = await deps.store.get(id);
  if (!job || !canSeeTenant(principal, job.tenantId)) throw notFound(`no job ${id}`);
  return job;
}

/** A playlist with its URIs pointed back at this route, or a segment streamed from S3. */
async function streamHlsFile(
  deps: ApiDeps,
  response: Response,
  sourceBucket: string,
  key: string,
  file: string,
): Promise<void> {
  let object;
  try {
    object = await deps.s3.send(
      new GetObjectCommand({ Bucket: deps.config.storage.outputBucket ?? sourceBucket, Key: key }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NoSuchKey" || name === "NotFound") throw notFound(`no ${file} in the job's HLS folder`);
    throw fromAwsError(error, "s3:getObject");
  }
  response.setHeader("cache-control", "private, max-age=60");
  if (file.endsWith(".m3u8")) {
    const text = (await object.Body?.transformToString("utf-8")) ?? "";
    response.type("application/vnd.apple.mpegurl").send(rewritePlaylist(text, file));
    return;
  }
  response.type(object.ContentType ?? "application/octet-stream");
  if (object.ContentLength !== undefined) response.setHeader("content-length", String(object.ContentLength));
  const body = object.Body as Readable | undefined;
  if (!body) {
    response.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    body.once("error", reject);
    response.once("close", () => {
      body.destroy();
      resolve();
    });
    body.pipe(response);
  });
}

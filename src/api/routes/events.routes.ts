import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";
import { badRequest, HttpProblem, unsupportedMediaType } from "../problem.ts";

/** POST /api/media/process-s3-event: an upload event in, the job ids it produces out. */
export function eventRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post("/api/media/process-s3-event", async (request, response) => {
    if (!request.is("application/json")) throw unsupportedMediaType();
    if (request.body === undefined) throw badRequest("a JSON body is required: an S3, SNS-wrapped S3 or EventBridge S3 event");
    const outcome = await deps.actions.enqueueEvent(request.body);
    if (outcome.kind === "invalid") throw badRequest(`not an upload event (${outcome.reason}): ${outcome.detail}`, { reason: outcome.reason });
    if (outcome.kind === "nothing-to-process") {
      throw new HttpProblem(422, "nothing-to-process", "the event names no object this deployment processes", { dropped: outcome.dropped });
    }
    response.status(202).json({ messageId: outcome.messageId, jobs: outcome.jobs, dropped: outcome.dropped });
  });
  return router;
}

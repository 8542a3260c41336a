import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";
import { principalOf, requireScope } from "../auth.ts";
import { badRequest, HttpProblem, unsupportedMediaType } from "../problem.ts";
import { emptyQuery, parseRequest } from "../validation.ts";

/** POST /api/media/process-s3-event: an S3 event in, the job ids it produces out. */
export function s3EventRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post("/api/media/process-s3-event", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    if (!request.is("application/json")) throw unsupportedMediaType();
    if (request.body === undefined)
      throw badRequest("a JSON body is required: an S3, SNS-wrapped S3 or EventBridge S3 event");
    const outcome = await deps.actions.enqueueEvent(request.body, principal);
    if (outcome.kind === "invalid")
      throw badRequest(`not an upload event (${outcome.reason}): ${outcome.detail}`, { reason: outcome.reason });
    if (outcome.kind === "nothing-to-process") {
      throw new HttpProblem(422, "nothing-to-process", "the event names no object this deployment processes", {
        dropped: outcome.dropped,
      });
    }
    if (outcome.kind === "other-tenant")
      throw new HttpProblem(
        403,
        "tenant-scoped-token",
        `token ${principal.id} is limited to tenant ${principal.tenant}; ${outcome.key} is not its object`,
      );
    response.status(202).json({ messageId: outcome.messageId, jobs: outcome.jobs, dropped: outcome.dropped });
  });
  return router;
}

import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";
import { principalOf, requireFleetToken, requireScope } from "../auth.ts";
import type { DeadLetterQueue } from "../dlq.ts";
import { conflict, unsupportedMediaType } from "../problem.ts";
import { dlqPeekQuery, emptyQuery, parseRequest, REDRIVE_MAX_MESSAGES, redriveBody } from "../validation.ts";

/**
 * The dead-letter queue: GET …/dlq/messages peeks (nothing consumed), POST …/dlq/redrive starts
 * a background redrive of all, named, or filtered messages (GET /api/media/actions/{id} follows
 * it). Fleet-wide, so not for tenant-limited tokens.
 */
export function dlqRoutes(deps: ApiDeps): Router {
  const router = Router();
  const configured = (): DeadLetterQueue => {
    if (!deps.dlq) throw conflict("dlq-not-configured", "MEDIA_DLQ_URL is not set");
    return deps.dlq;
  };

  router.get("/api/media/dlq/messages", async (request, response) => {
    requireFleetToken(principalOf(response));
    const { limit } = parseRequest(dlqPeekQuery, request.query, "query");
    response.json(await configured().peek(limit));
  });

  router.post("/api/media/dlq/redrive", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    requireFleetToken(principal);
    parseRequest(emptyQuery, request.query, "query");
    // The body is optional; one that is there must be JSON.
    if (request.body === undefined && hasBody(request.headers)) throw unsupportedMediaType();
    const body = parseRequest(redriveBody, request.body ?? {}, "body");
    if (body.dropNonEvents) requireScope(principal, "admin");
    const dlq = configured();
    const redrive = {
      maxMessages: body.maxMessages ?? REDRIVE_MAX_MESSAGES,
      ...(body.messageIds ? { messageIds: body.messageIds } : {}),
      ...(body.filter ? { filter: body.filter } : {}),
      ...(body.dropNonEvents ? { dropNonEvents: true } : {}),
    };
    const action = await deps.actionStore.start("dlq-redrive", principal, body, (report) =>
      dlq.redrive(redrive, principal, report),
    );
    response.status(202).location(`/api/media/actions/${action.id}`).json({ action });
  });
  return router;
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  return (
    headers["transfer-encoding"] !== undefined ||
    (headers["content-length"] !== undefined && headers["content-length"] !== "0")
  );
}

import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";
import { conflict, unsupportedMediaType } from "../problem.ts";
import { parseRequest, REDRIVE_MAX_MESSAGES, redriveBody } from "../validation.ts";

/** POST /api/media/dlq/redrive: DLQ → media queue, all or up to `maxMessages`. */
export function dlqRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post("/api/media/dlq/redrive", async (request, response) => {
    // The body is optional; one that is there must be JSON.
    if (request.body === undefined && hasBody(request.headers)) throw unsupportedMediaType();
    const { maxMessages } = parseRequest(redriveBody, request.body ?? {}, "body");
    if (!deps.config.queue.dlqUrl) throw conflict("dlq-not-configured", "MEDIA_DLQ_URL is not set");
    response.json(await deps.actions.redrive(maxMessages ?? REDRIVE_MAX_MESSAGES));
  });
  return router;
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  return headers["transfer-encoding"] !== undefined || (headers["content-length"] !== undefined && headers["content-length"] !== "0");
}

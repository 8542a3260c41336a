import { Router } from "express";
import { z } from "zod";
import type { ApiDeps } from "../api-deps.ts";
import { audit } from "../audit.ts";
import { canSeeTenant, principalOf, requireScope } from "../auth.ts";
import { notFound } from "../problem.ts";
import { emptyQuery, parseRequest } from "../validation.ts";
import type { WebhookOutbox } from "../../webhooks/webhook-outbox.ts";

export const DELIVERY_ID_PATTERN = "^[0-9a-f]{32}$";
export const DELIVERY_LIST_LIMIT = { min: 1, max: 200, fallback: 50 };

const deliveryParams = z
  .object({
    id: z.string().regex(new RegExp(DELIVERY_ID_PATTERN), { message: "expected a 32-character hex delivery id" }),
  })
  .strict();
const deliveryListQuery = z
  .object({
    state: z.enum(["pending", "delivered", "failed"]).optional(),
    limit: z
      .string()
      .regex(/^\d{1,4}$/)
      .transform(Number)
      .pipe(z.number().int().min(DELIVERY_LIST_LIMIT.min).max(DELIVERY_LIST_LIMIT.max))
      .optional(),
  })
  .strict();

/** /api/media/webhooks/deliveries…: the last deliveries (dashboard), one delivery, replay. A tenant token sees its tenant's. */
export function webhookRoutes(deps: ApiDeps): Router {
  const router = Router();
  const outbox = (): WebhookOutbox => {
    if (!deps.webhooks) throw notFound("webhooks are off (WEBHOOKS_ENABLED)");
    return deps.webhooks;
  };

  router.get("/api/media/webhooks/deliveries", async (request, response) => {
    const principal = principalOf(response);
    const query = parseRequest(deliveryListQuery, request.query, "query");
    const limit = query.limit ?? DELIVERY_LIST_LIMIT.fallback;
    const deliveries = deps.webhooks
      ? await deps.webhooks.recent(principal.tenant === undefined ? limit : 1_000, query.state)
      : [];
    response.json({
      enabled: deps.webhooks !== undefined,
      deliveries: deliveries.filter((delivery) => canSeeTenant(principal, delivery.tenantId)).slice(0, limit),
    });
  });

  router.get("/api/media/webhooks/deliveries/:id", async (request, response) => {
    const { id } = parseRequest(deliveryParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    const delivery = await outbox().get(id);
    if (!delivery || !canSeeTenant(principalOf(response), delivery.tenantId))
      throw notFound(`no webhook delivery ${id}`);
    response.json({ delivery });
  });

  router.post("/api/media/webhooks/deliveries/:id/replay", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    const { id } = parseRequest(deliveryParams, request.params, "path");
    parseRequest(emptyQuery, request.query, "query");
    const box = outbox();
    const delivery = await box.get(id);
    if (!delivery || !canSeeTenant(principal, delivery.tenantId) || !(await box.replay(id, Date.now())))
      throw notFound(`no webhook delivery ${id}`);
    audit(deps.logger, principal, "webhook-replay", {
      deliveryId: id,
      eventId: delivery.eventId,
      previousState: delivery.state,
    });
    response.status(202).json({ delivery: (await box.get(id)) ?? delivery });
  });
  return router;
}

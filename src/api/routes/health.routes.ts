import { Router } from "express";
import type { ApiDeps } from "../api-deps.ts";

/** A probe must answer within the kubelet's timeout even when a dependency hangs. */
const CHECK_TIMEOUT_MS = 2_000;

/** /healthz, /readyz and /metrics of the API process; outside /api, so probes need no token. */
export function healthRoutes(deps: Pick<ApiDeps, "readiness" | "isStopping" | "metricsRegistry">): Router {
  const router = Router();
  router.get("/healthz", (_request, response) => {
    response.json({ status: deps.isStopping() ? "draining" : "ok" });
  });
  router.get("/readyz", async (_request, response) => {
    const results = await Promise.all(
      deps.readiness.map(async (check) => [check.name, await withTimeout(check.check(), CHECK_TIMEOUT_MS)] as const),
    );
    const ready = results.every(([, ok]) => ok) && !deps.isStopping();
    response
      .status(ready ? 200 : 503)
      .json({ status: ready ? "ready" : "not-ready", checks: Object.fromEntries(results) });
  });
  router.get("/metrics", async (_request, response) => {
    response.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics());
  });
  return router;
}

function withTimeout(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  return Promise.race([check.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}

import express, { type Express, type RequestHandler } from "express";
import type { ApiDeps } from "./api-deps.ts";
import { bearerAuth } from "./auth.ts";
import { allowedMethods, openApiDocument } from "./openapi.ts";
import { HttpProblem, notFound, problemHandler } from "./problem.ts";
import { dashboardRoutes } from "./routes/dashboard.routes.ts";
import { dlqRoutes } from "./routes/dlq.routes.ts";
import { s3EventRoutes } from "./routes/s3-events.routes.ts";
import { fleetRoutes } from "./routes/fleet.routes.ts";
import { healthRoutes } from "./routes/health.routes.ts";
import { jobRoutes } from "./routes/jobs.routes.ts";
import { mediaRoutes } from "./routes/media.routes.ts";
import { webhookRoutes } from "./routes/webhooks.routes.ts";
import { s3ImageOrigins, securityHeaders } from "./security-headers.ts";

/**
 * The Express app, in the order a request meets it: security headers and a log line for
 * everything; probes, metrics and the dashboard without a token; then under /api no caching,
 * the bearer token and its principal (scopes and tenant: auth.ts), the body parser (after the
 * token, so strangers' bodies are never read);
 * 405 for a known path with another method; the routes (503 at once while Redis is down); 404;
 * and problem+json for every error.
 */
export function createApiApp(deps: ApiDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(securityHeaders(s3ImageOrigins(deps.config.api.publicS3Endpoint ?? deps.config.aws.endpointUrl)));
  app.use(requestLog(deps));
  app.use(healthRoutes(deps));
  app.use(dashboardRoutes());

  app.use("/api", (_request, response, next) => {
    response.setHeader("cache-control", "no-store");
    next();
  });
  const media = mediaRoutes(deps);
  // API_PLAYBACK_PUBLIC: players reach playback info, outputs and the HLS stream without a token;
  // DELIVERY_SIGNING_KEYS: with a signed URL instead of a token (the routes check which).
  const playbackFirst = deps.config.api.playbackPublic || deps.config.api.delivery.signingKeys.length > 0;
  if (playbackFirst) app.use(media.playback);
  app.use("/api", bearerAuth(deps.config.api.tokens));
  app.use(
    "/api",
    express.json({ limit: deps.config.api.bodyLimitBytes, type: ["application/json", "application/*+json"] }),
  );
  // Before the routes: /api/media/jobs/stats must answer POST with 405, not reach POST /jobs/:id.
  for (const [path, methods] of allowedMethods()) app.all(path, methodGuard(methods));
  app.get("/api/openapi.json", (_request, response) => {
    response.json(openApiDocument);
  });
  app.use("/api", (_request, _response, next) => next(deps.redisReady() ? undefined : redisUnavailable()));
  app.use(s3EventRoutes(deps));
  app.use(jobRoutes(deps));
  app.use(media.authenticated);
  app.use(webhookRoutes(deps));
  if (!playbackFirst) app.use(media.playback);
  app.use(dlqRoutes(deps));
  app.use(fleetRoutes(deps));
  app.use((request, _response, next) => next(notFound(`no route ${request.method} ${request.path}`)));
  app.use(problemHandler(deps.logger));
  return app;
}

/**
 * Before any route sees the request: a known path with another method is a 405 with Allow, and
 * OPTIONS answers with that path's own methods (Express's routers would list every route whose
 * pattern matches, e.g. POST /jobs/:id for /jobs/stats).
 */
function methodGuard(methods: string[]): RequestHandler {
  const allowed = [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])];
  const allow = allowed.join(", ");
  return (request, response, next) => {
    if (allowed.includes(request.method)) return next();
    if (request.method === "OPTIONS") {
      response.setHeader("allow", allow);
      response.status(204).end();
      return;
    }
    next(
      new HttpProblem(
        405,
        "method-not-allowed",
        `${request.method} is not served here; allowed: ${allow}`,
        {},
        { allow },
      ),
    );
  };
}

const redisUnavailable = () =>
  new HttpProblem(
    503,
    "dependency-unavailable",
    "Redis is not connected; try again",
    { dependency: "redis" },
    { "retry-after": "5" },
  );

/** One line per request at debug, failures at warn; never the Authorization header or the query. */
function requestLog(deps: ApiDeps): RequestHandler {
  return (request, response, next) => {
    const started = process.hrtime.bigint();
    response.on("finish", () => {
      const fields = {
        method: request.method,
        path: request.path,
        status: response.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      };
      // A red readiness probe is an answer, not a failure of the API; the probe says why.
      if (response.statusCode >= 500 && request.path !== "/readyz") deps.logger.warn(fields, "request failed");
      else deps.logger.debug(fields, "request");
    });
    next();
  };
}

import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Express } from "express";
import { createApiApp } from "./api/app.ts";
import { JobActions } from "./api/job-actions.ts";
import type { ApiConfig } from "./config/config.ts";
import { compileTenantPattern } from "./events/key-rules.ts";
import { JobStore } from "./jobs/job.store.ts";
import { createRedisClient } from "./jobs/redis.client.ts";
import { WorkerRegistry } from "./jobs/worker.registry.ts";
import { createLogger, redactUrl, type Logger } from "./logger.ts";
import { createMetrics } from "./metrics/metrics.ts";
import { JobAnnouncer } from "./notify/job-announcer.ts";
import { createJobEventPublisher } from "./notify/sns.client.ts";
import { createSqsClient } from "./queue/sqs.client.ts";
import { createS3Client } from "./storage/s3.client.ts";

export interface ApiServer {
  port: number;
  app: Express;
  store: JobStore;
  /** Ordered, idempotent: stop accepting, let requests finish (up to `graceMs`), close Redis and clients. */
  stop(graceMs?: number): Promise<void>;
}

export interface ApiServerOptions {
  logger?: Logger;
}

/** How long in-flight requests may finish on stop before their connections are cut. */
const DEFAULT_STOP_GRACE_MS = 5_000;
/** How long start waits for the first Redis connection before serving anyway. */
const REDIS_START_WAIT_MS = 5_000;

/** Composition root of the API: wires Redis, SQS and S3 clients into the app and listens on API_PORT. */
export async function startApiServer(config: ApiConfig, options: ApiServerOptions = {}): Promise<ApiServer> {
  const logger = options.logger ?? createLogger(config.logLevel, { role: "api" });
  if (config.api.insecureNoAuth && !config.api.token) logger.warn("API_INSECURE_NO_AUTH: /api answers without a token; keep this port private");
  const apiId = `api-${os.hostname()}-${process.pid}`;
  const redis = createRedisClient(config.redis.url, `media-api:${apiId}`);
  redis.on("error", (error: Error) => logger.warn({ err: error.message }, "redis connection error"));
  const sqs = createSqsClient(config.aws);
  // The API's S3 client only signs output URLs (no request is sent with it), so it is built for
  // the endpoint the browser will load them from.
  const s3 = createS3Client(config.api.publicS3Endpoint ? { ...config.aws, endpointUrl: config.api.publicS3Endpoint } : config.aws);
  const store = new JobStore(redis, { keyPrefix: config.redis.keyPrefix, statusTtlSec: config.jobs.statusTtlSec, leaseTtlMs: config.jobs.leaseTtlMs, workerId: apiId });
  const workers = new WorkerRegistry(redis, config.redis.keyPrefix, config.workerHeartbeatMs);
  const metrics = createMetrics();
  const events = createJobEventPublisher(config);
  const actions = new JobActions({
    store,
    sqs,
    queueUrl: config.queue.queueUrl,
    dlqUrl: config.queue.dlqUrl,
    parseRules: { sourceBuckets: config.storage.sourceBuckets, outputSegment: config.storage.outputSegment },
    ownerOf: compileTenantPattern(config.storage.tenantKeyPattern),
    announcer: new JobAnnouncer({ store, publisher: events.publisher, metrics, outputBucket: config.storage.outputBucket }),
    logger,
  });
  let stopping = false;
  const app = createApiApp({
    config,
    store,
    actions,
    workers,
    sqs,
    s3,
    metricsRegistry: metrics.registry,
    readiness: [
      { name: "redis", check: async () => (await redis.ping()) === "PONG" },
      { name: "sqs", check: async () => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: config.queue.queueUrl, AttributeNames: ["QueueArn"] })), true) },
    ],
    redisReady: () => redis.status === "ready",
    isStopping: () => stopping,
    logger,
  });
  // Serve once Redis answers, so the first requests are not refused; a Redis that is down at
  // start does not stop the API from starting (it reports not-ready and answers 503).
  await waitForRedis(redis, REDIS_START_WAIT_MS);

  const server = http.createServer(app);
  // Slow-loris guards; Node's defaults are generous for a small JSON API.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.api.port, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, redis: redactUrl(config.redis.url), queueUrl: config.queue.queueUrl, auth: config.api.token ? "bearer" : "none" }, "api started");

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> => {
    stopping = true;
    stopped ??= (async () => {
      const guard = async (name: string, step: () => Promise<unknown> | unknown) => {
        try {
          await step();
        } catch (error) {
          logger.warn({ err: error, step: name }, "api shutdown step failed");
        }
      };
      await guard("http server", () => closeServer(server, graceMs));
      // QUIT waits for a connection; with Redis down it would wait through every reconnect.
      await guard("redis", () => (redis.status === "ready" ? redis.quit().catch(() => redis.disconnect()) : redis.disconnect()));
      sqs.destroy();
      s3.destroy();
      events.close();
      logger.info("api stopped");
    })();
    return stopped;
  };
  return { port, app, store, stop };
}

/** Stops accepting, closes idle keep-alive sockets, and cuts the rest after `graceMs`. */
function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function waitForRedis(redis: ReturnType<typeof createRedisClient>, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    redis.once("ready", done);
  });
}

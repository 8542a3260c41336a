import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { createApiApp } from "./api/app.ts";
import { ActionStore } from "./api/background-actions.ts";
import { DeadLetterQueue } from "./api/dlq.ts";
import { JobActions } from "./api/job-actions.ts";
import { startQueueDepthMonitor } from "./api/queue-depths.ts";
import { readWaitingTenants } from "./lanes/fair-share.ts";
import { queuesReadiness } from "./queue/queue-readiness.ts";
import type { ApiConfig } from "./config/config.ts";
import { compileTenantPattern } from "./s3-events/key-rules.ts";
import { startJobSweeper } from "./jobs/job-sweeper.ts";
import { JobStore } from "./jobs/job.store.ts";
import { createRedisClient } from "./jobs/redis.client.ts";
import { WorkerRegistry } from "./jobs/worker.registry.ts";
import { createLogger, redactUrl, type Logger } from "./logger.ts";
import { createMetrics } from "./metrics/metrics.ts";
import { JobEventPublisher } from "./job-events/job-event.publisher.ts";
import { WebhookDispatcher } from "./webhooks/webhook-dispatcher.ts";
import { WebhookOutbox } from "./webhooks/webhook-outbox.ts";
import { urlProblem } from "./webhooks/webhook-target.ts";
import { ConfigError } from "./config/config.ts";
import { createJobEventTopic } from "./job-events/sns.client.ts";
import { startIntake, type Intake } from "./pipeline/intake.ts";
import { createSqsClient } from "./queue/sqs.client.ts";
import { createS3Client } from "./storage/s3.client.ts";

export interface ApiServer {
  port: number;
  app: Express;
  store: JobStore;
  /** Running when MEDIA_INTAKE_QUEUE_URL is set. */
  intake: Intake | undefined;
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
  if (config.api.tokens.length === 0)
    logger.warn("API_INSECURE_NO_AUTH: /api answers without a token, as an admin; keep this port private");
  // Before any client exists: a refused webhook URL is a configuration error, found at startup.
  const webhookPolicy = {
    allowHttp: config.api.webhooks.allowHttp,
    allowPrivate: config.api.webhooks.allowPrivateTargets,
  };
  const refused = config.api.webhooks.endpoints.flatMap((endpoint) => {
    const problem = urlProblem(endpoint.url, webhookPolicy);
    return problem ? [`WEBHOOK_ENDPOINTS: endpoint ${endpoint.id}: ${problem}`] : [];
  });
  if (refused.length > 0) throw new ConfigError(refused);
  const apiId = `api-${os.hostname()}-${process.pid}`;
  const redis = createRedisClient(config.redis.url, `media-api:${apiId}`);
  redis.on("error", (error: Error) => logger.warn({ err: error.message }, "redis connection error"));
  const sqs = createSqsClient(config.aws);
  const s3 = createS3Client(config.aws);
  // Presigned URLs are opened by browsers: signed for the endpoint they reach (compose: localhost).
  const presigner = config.api.publicS3Endpoint
    ? createS3Client({ ...config.aws, endpointUrl: config.api.publicS3Endpoint })
    : s3;
  const store = new JobStore(redis, {
    keyPrefix: config.redis.keyPrefix,
    statusTtlSec: config.jobs.statusTtlSec,
    leaseTtlMs: config.jobs.leaseTtlMs,
    workerId: apiId,
  });
  const workers = new WorkerRegistry(redis, config.redis.keyPrefix, config.workerHeartbeatMs);
  const metrics = createMetrics();
  const jobEventTopic = createJobEventTopic(config);
  const webhooks = config.jobEvents.webhooksEnabled ? new WebhookOutbox(redis, config.redis.keyPrefix) : undefined;
  const parseRules = { sourceBuckets: config.storage.sourceBuckets, outputSegment: config.storage.outputSegment };
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  const actions = new JobActions({
    store,
    sqs,
    queueUrl: config.queue.queueUrl,
    parseRules,
    ownerOf,
    jobEvents: new JobEventPublisher({
      store,
      topic: jobEventTopic.topic,
      metrics,
      outputBucket: config.storage.outputBucket,
      ...(webhooks ? { webhooks } : {}),
    }),
    logger,
  });
  const queueDepths = startQueueDepthMonitor(
    sqs,
    {
      media: config.queue.queueUrl,
      dlq: config.queue.dlqUrl,
      intake: config.queue.intakeQueueUrl,
      lanes: config.lanes.all.map((lane) => ({
        name: lane.name,
        url: lane.queueUrl,
        backlogUrl: lane.backlogQueueUrl,
      })),
    },
    config.api.queueDepthIntervalMs,
    logger,
  );
  const dlq = config.queue.dlqUrl
    ? new DeadLetterQueue({
        sqs,
        dlqUrl: config.queue.dlqUrl,
        queueUrl: config.queue.queueUrl,
        store,
        actions,
        parseRules,
        ownerOf,
        logger,
      })
    : undefined;
  let stopping = false;
  const app = createApiApp({
    config,
    store,
    actions,
    dlq,
    actionStore: new ActionStore(redis, config.redis.keyPrefix, logger),
    workers,
    queueDepths,
    waitingTenants: (lane, limit) => readWaitingTenants(redis, config.redis.keyPrefix, lane, limit),
    sqs,
    s3,
    presigner,
    webhooks,
    metricsRegistry: metrics.registry,
    readiness: [
      { name: "redis", check: async () => (await redis.ping()) === "PONG" },
      queuesReadiness(sqs, [
        config.queue.queueUrl,
        ...config.lanes.all.flatMap((lane) =>
          lane.backlogQueueUrl ? [lane.queueUrl, lane.backlogQueueUrl] : [lane.queueUrl],
        ),
      ]),
    ],
    redisReady: () => redis.status === "ready",
    isStopping: () => stopping,
    logger,
  });
  // Serve once Redis answers, so the first requests are not refused; a Redis that is down at
  // start does not stop the API from starting (it reports not-ready and answers 503).
  await waitForRedis(redis, REDIS_START_WAIT_MS);
  // The first depths, so the first stats do not show the queues as unreadable.
  await Promise.race([queueDepths.ready(), new Promise((resolve) => setTimeout(resolve, REDIS_START_WAIT_MS).unref())]);

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
  const stopSweeper = startJobSweeper(store, config.jobs.sweepIntervalMs, logger);
  // Webhooks are delivered here, apart from job processing: a receiver that is down only delays its own deliveries.
  // Also without endpoints: it drains the recorded events (fanned out to nobody), so the inbox never grows.
  const dispatcher = webhooks
    ? new WebhookDispatcher({
        outbox: webhooks,
        endpoints: config.api.webhooks.endpoints,
        policy: webhookPolicy,
        retryBaseMs: config.api.webhooks.retryBaseMs,
        retryWindowMs: config.api.webhooks.retryWindowMs,
        timeoutMs: config.api.webhooks.timeoutMs,
        pollMs: config.api.webhooks.pollMs,
        logger: logger.child({ component: "webhooks" }),
      })
    : undefined;
  dispatcher?.start();
  const intake = config.queue.intakeQueueUrl
    ? startIntake({
        sqs,
        intakeQueueUrl: config.queue.intakeQueueUrl,
        // The entry lane's queue (MEDIA_LANES): its workers route each upload to its lane.
        mediaQueueUrl: config.lanes.all[0]?.queueUrl ?? config.queue.queueUrl,
        store,
        parseRules,
        ownerOf,
        logger,
        waitTimeSeconds: config.queue.waitTimeSeconds,
      })
    : undefined;
  logger.info(
    {
      port,
      redis: redactUrl(config.redis.url),
      queueUrl: config.queue.queueUrl,
      intakeQueueUrl: config.queue.intakeQueueUrl ?? "off",
      auth:
        config.api.tokens.length > 0
          ? `bearer (${config.api.tokens.map((token) => `${token.id}:${token.scope}${token.tenant ? `@${token.tenant}` : ""}`).join(", ")})`
          : "none",
    },
    "api started",
  );

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
      await guard("intake", () => intake?.stop());
      await guard("webhooks", () => dispatcher?.stop());
      stopSweeper();
      queueDepths.stop();
      await guard("http server", () => closeServer(server, graceMs));
      // QUIT waits for a connection; with Redis down it would wait through every reconnect.
      await guard("redis", () =>
        redis.status === "ready" ? redis.quit().catch(() => redis.disconnect()) : redis.disconnect(),
      );
      sqs.destroy();
      s3.destroy();
      if (presigner !== s3) presigner.destroy();
      jobEventTopic.close();
      logger.info("api stopped");
    })();
    return stopped;
  };
  return { port, app, store, intake, stop };
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

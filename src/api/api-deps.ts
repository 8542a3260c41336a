import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ApiConfig } from "../config/config.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { WorkerRegistry } from "../jobs/worker.registry.ts";
import type { WaitingTenant } from "../lanes/fair-share.ts";
import type { Logger } from "../logger.ts";
import type { ReadinessCheck } from "../metrics/health.server.ts";
import type { Registry } from "prom-client";
import type { WebhookOutbox } from "../webhooks/webhook-outbox.ts";
import type { ActionStore } from "./background-actions.ts";
import type { DeadLetterQueue } from "./dlq.ts";
import type { JobActions } from "./job-actions.ts";
import type { QueueDepthMonitor } from "./queue-depths.ts";

/** Everything the routes use, built by the composition root (api-server.ts) or a test. */
export interface ApiDeps {
  config: ApiConfig;
  store: JobStore;
  actions: JobActions;
  /** Undefined when no MEDIA_DLQ_URL is configured. */
  dlq: DeadLetterQueue | undefined;
  actionStore: ActionStore;
  workers: WorkerRegistry;
  /** Queue depths polled in the background (API_QUEUE_DEPTH_INTERVAL); requests never wait on SQS for them. */
  queueDepths: QueueDepthMonitor;
  /** A lane's tenants with the most fair-share-deferred work (src/lanes/fair-share.ts); absent in tests that do not need it. */
  waitingTenants?: (lane: string, limit: number) => Promise<WaitingTenant[]>;
  sqs: SQSClient;
  /** Talks to S3 from the API (HLS files for the player). */
  s3: S3Client;
  /** Signs the URLs browsers open: configured with the endpoint they reach (API_PUBLIC_S3_ENDPOINT). */
  presigner: S3Client;
  /** Undefined without WEBHOOKS_ENABLED. */
  webhooks: WebhookOutbox | undefined;
  metricsRegistry: Registry;
  readiness: ReadinessCheck[];
  /**
   * False while the Redis connection is down: /api answers 503 at once instead of holding each
   * request through the client's reconnect attempts.
   */
  redisReady: () => boolean;
  /** True once stop() began: readiness turns red so load balancers drain the API first. */
  isStopping: () => boolean;
  logger: Logger;
}

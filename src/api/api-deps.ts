import type { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ApiConfig } from "../config/config.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { WorkerRegistry } from "../jobs/worker.registry.ts";
import type { Logger } from "../logger.ts";
import type { ReadinessCheck } from "../metrics/health.server.ts";
import type { Registry } from "prom-client";
import type { JobActions } from "./job-actions.ts";

/** Everything the routes use, built by the composition root (api-server.ts) or a test. */
export interface ApiDeps {
  config: ApiConfig;
  store: JobStore;
  actions: JobActions;
  workers: WorkerRegistry;
  sqs: SQSClient;
  /** Signs presigned output URLs; its endpoint is API_PUBLIC_S3_ENDPOINT when that is set. */
  s3: S3Client;
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

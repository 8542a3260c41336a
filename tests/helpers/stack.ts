import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { loadConfig, type AppConfig } from "../../src/config/config.ts";
import { startLocalStack, type LocalStack } from "../../src/dev/local-stack.ts";
import { buildS3Notification, newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, isTerminal, type JobRecord } from "../../src/jobs/job.model.ts";
import { createLogger } from "../../src/logger.ts";
import { JobStore } from "../../src/jobs/job.store.ts";
import { createRedisClient } from "../../src/jobs/redis.client.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { createSqsClient } from "../../src/queue/sqs.client.ts";
import { createS3Client } from "../../src/storage/s3.client.ts";
import { ObjectStore } from "../../src/storage/object-store.ts";
import { startWorker, type Worker, type WorkerOptions } from "../../src/worker.ts";
import { bareETag } from "../../src/s3-events/object-ref.ts";
import { waitForValue } from "./wait-for.ts";

/**
 * End-to-end harness: a real redis-server, the in-process S3+SQS emulator spoken to over HTTP
 * by the real AWS SDK, and a real worker. Each stack gets a fresh Redis key prefix and temp dir.
 */
export interface TestStack {
  local: LocalStack;
  config: AppConfig;
  /** Undefined with `noWorker`. */
  worker: Worker;
  /** The harness's own view of the job store (independent of any worker's connection). */
  store: JobStore;
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  tempDir: string;
  upload(key: string, body: Buffer | string): Promise<{ eTag: string }>;
  /** Uploads and sends the S3 notification S3 would send (with a new sequencer, as for every PUT). Returns the job id it maps to. */
  uploadAndNotify(key: string, body: Buffer | string): Promise<string>;
  /** Sends an event for `key`; pass a job's recorded sequencer to redeliver its event. */
  sendEvent(key: string, eTag?: string, sequencer?: string): Promise<void>;
  sendRaw(body: string): Promise<void>;
  waitForJob(jobId: string, predicate?: (job: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord>;
  getObject(key: string): Promise<Buffer>;
  listKeys(prefix: string): Promise<string[]>;
  queueDepth(queue?: "media" | "dlq"): Promise<{ visible: number; inFlight: number; delayed: number }>;
  /** Waits until the queue holds no message (visible, in flight or delayed) and returns its depth. */
  waitForEmptyQueue(
    what: string,
    timeoutMs?: number,
    queue?: "media" | "dlq",
  ): Promise<{ visible: number; inFlight: number; delayed: number }>;
  /** A second worker on the same stack (same Redis prefix and queue). */
  startAnotherWorker(env?: Record<string, string>): Promise<Worker>;
  /** The env a worker of this stack gets (for worker child processes). */
  envFor(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  env?: Record<string, string>;
  processors?: Processor[];
  workerOptions?: WorkerOptions;
  maxReceiveCount?: number;
  persistentRedis?: boolean;
  /** Start no worker in-process (tests that run worker processes instead). */
  noWorker?: boolean;
  /** Point the worker's AWS endpoint somewhere else (e.g. a fault-injecting proxy). */
  endpointFor?: (emulatorEndpoint: string) => Promise<string>;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  process.env.AWS_REGION ??= "us-east-1";
  const local = await startLocalStack({
    maxReceiveCount: options.maxReceiveCount ?? 3,
    persistentRedis: options.persistentRedis ?? false,
  });
  const workerEndpoint = options.endpointFor
    ? await options.endpointFor(local.env.AWS_ENDPOINT_URL!)
    : local.env.AWS_ENDPOINT_URL!;
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "mp-test-"));
  const prefix = `t${randomUUID().slice(0, 8)}:`;
  const envFor = (extra: Record<string, string> = {}) => ({
    ...local.env,
    REDIS_KEY_PREFIX: prefix,
    TEMP_DIR: tempDir,
    METRICS_PORT: "0",
    SQS_WAIT_TIME_SECONDS: "1",
    SQS_VISIBILITY_TIMEOUT: "30",
    RETRY_BACKOFF_BASE: "1",
    RETRY_BACKOFF_MAX: "2",
    SHUTDOWN_GRACE_PERIOD: "5",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    WORKER_ID: `test-${randomUUID().slice(0, 8)}`,
    WORKER_HEARTBEAT_INTERVAL: "1",
    AWS_ENDPOINT_URL: workerEndpoint,
    ...options.env,
    ...extra,
  });
  const config = loadConfig(envFor());
  const logger = createLogger(config.logLevel);
  const worker = options.noWorker
    ? undefined
    : await startWorker(config, {
        logger,
        ...(options.processors ? { processors: options.processors } : {}),
        ...options.workerOptions,
      });
  // The harness itself always talks to the emulator directly, never through a fault proxy.
  const direct = { ...config.aws, endpointUrl: local.env.AWS_ENDPOINT_URL };
  const s3 = createS3Client(direct);
  const sqs = createSqsClient(direct);
  const bucket = local.bucket;
  const extraWorkers: Worker[] = [];
  const redis = createRedisClient(config.redis.url, "test-harness");
  redis.on("error", () => undefined);
  const store = new JobStore(redis, {
    keyPrefix: prefix,
    statusTtlSec: config.jobs.statusTtlSec,
    leaseTtlMs: config.jobs.leaseTtlMs,
    workerId: "test-harness",
  });

  const stack: TestStack = {
    local,
    config,
    worker: worker as Worker,
    store,
    s3,
    sqs,
    bucket,
    tempDir,
    async upload(key, body) {
      if (body.length > 5 * 1024 * 1024) {
        // Large bodies go up as multipart, as S3 clients do (the emulator refuses very large single PUTs).
        const file = path.join(tempDir, `upload-${randomUUID()}`);
        await writeFile(file, body);
        const objects = new ObjectStore(s3);
        await objects.upload({ bucket, key, body: { file }, contentType: "application/octet-stream" });
        await rm(file, { force: true });
        return { eTag: (await objects.head(bucket, key)).eTag ?? "" };
      }
      const response = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return { eTag: bareETag(response.ETag) ?? "" };
    },
    async uploadAndNotify(key, body) {
      const { eTag } = await stack.upload(key, body);
      const sequencer = newSequencer();
      await stack.sendEvent(key, eTag, sequencer);
      return jobIdFor({ bucket, key, eTag, sequencer });
    },
    async sendEvent(key, eTag, sequencer) {
      await stack.sendRaw(
        buildS3Notification([{ bucket, key, ...(eTag ? { eTag } : {}), ...(sequencer ? { sequencer } : {}) }]),
      );
    },
    async sendRaw(body) {
      await sqs.send(new SendMessageCommand({ QueueUrl: config.queue.queueUrl, MessageBody: body }));
    },
    async waitForJob(jobId, predicate = (job) => isTerminal(job.status), timeoutMs = 60_000) {
      const job = await waitForValue(
        () => store.get(jobId).catch(() => undefined),
        (record) => record !== undefined && predicate(record),
        (last) =>
          `job ${jobId} to reach the expected state; last: ${JSON.stringify(last ? { status: last.status, error: last.error, timeline: last.timeline.map((entry) => entry.event) } : undefined)}`,
        timeoutMs,
      );
      return job!;
    },
    async getObject(key) {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async listKeys(keyPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async waitForEmptyQueue(what, timeoutMs = 20_000, queue = "media") {
      return waitForValue(
        () => stack.queueDepth(queue),
        (depth) => depth.visible + depth.inFlight + depth.delayed === 0,
        (last) => `${what}; last depth: ${JSON.stringify(last)}`,
        timeoutMs,
        200,
      );
    },
    async queueDepth(queue = "media") {
      const url = queue === "media" ? config.queue.queueUrl : config.queue.dlqUrl;
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
      );
      return {
        visible: Number(a.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    },
    envFor,
    async startAnotherWorker(env) {
      const another = await startWorker(loadConfig(envFor(env)), {
        logger,
        ...(options.processors ? { processors: options.processors } : {}),
        ...options.workerOptions,
      });
      extraWorkers.push(another);
      return another;
    },
    async stop() {
      await Promise.allSettled([worker?.stop(1_000), ...extraWorkers.map((extra) => extra.stop(1_000))]);
      s3.destroy();
      sqs.destroy();
      redis.disconnect();
      await local.stop();
      await rm(tempDir, { recursive: true, force: true });
    },
  };
  return stack;
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, "utf8")) as T;
}

import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { Upload } from "@aws-sdk/lib-storage";
import type { Redis } from "ioredis";
import { loadConfig, type AppConfig } from "../../src/config/config.ts";
import { startLocalStack, type LocalStack } from "../../src/dev/local-stack.ts";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { isTerminal, jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import { JobStore } from "../../src/jobs/job.store.ts";
import { createRedisClient } from "../../src/jobs/redis.client.ts";
import { createSqsClient } from "../../src/queue/sqs.client.ts";
import { createS3Client } from "../../src/storage/s3.client.ts";
import { bareETag } from "../../src/s3-events/object-ref.ts";

/**
 * The benchmark's side of the embedded local stack: the S3+SQS emulator in this process and a
 * redis-server child (startLocalStack), plus what the benchmark does to it — upload inputs under
 * a fresh key per run, send the S3 notifications S3 would send, wait for the jobs' records, and
 * clean up. Workers run as separate processes (workers.ts) against `workerEnv()`.
 */
export interface UploadedInput {
  key: string;
  eTag: string;
  bytes: number;
  jobId: string;
}

export interface PipelineRun {
  /** From the first notification sent to the last job's finishedAt. */
  wallMs: number;
  jobs: JobRecord[];
}

export const KEY_PREFIX = "tenants/bench/users/u1/media/";

const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/** Longer than any consumer's long-poll wait (1 s): see SQS_WAIT_TIME_SECONDS below. */
export const CONSUMER_STOP_SETTLE_MS = 1_500;

export class BenchStack {
  readonly local: LocalStack;
  readonly config: AppConfig;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly redis: Redis;
  readonly store: JobStore;
  readonly tempDir: string;
  private readonly baseEnv: Record<string, string>;

  private constructor(local: LocalStack, tempDir: string) {
    this.local = local;
    this.tempDir = tempDir;
    this.baseEnv = {
      ...local.env,
      TEMP_DIR: path.join(tempDir, "worker-tmp"),
      REDIS_KEY_PREFIX: "bench:",
      // A slow benchmark job must never be redelivered to a second worker mid-run.
      SQS_VISIBILITY_TIMEOUT: "900",
      // fauxqs keeps serving a long poll whose client has gone (a stopped worker): the messages it
      // hands out stay invisible for the visibility timeout. Short polls, and a pause after every
      // consumer stops (CONSUMER_STOP_SETTLE_MS), keep such a ghost from taking the next run's messages.
      SQS_WAIT_TIME_SECONDS: "1",
      PROCESSING_TIMEOUT: "15m",
      // The worker registry's heartbeat writes to Redis; rarely, so it does not blur per-job counts.
      WORKER_HEARTBEAT_INTERVAL: "60",
      // The product's default: its two log lines per job are part of what a job costs.
      LOG_LEVEL: "info",
      MALLOC_ARENA_MAX: "2",
    };
    this.config = loadConfig(this.baseEnv);
    this.s3 = createS3Client(this.config.aws);
    this.sqs = createSqsClient(this.config.aws);
    this.redis = createRedisClient(this.config.redis.url, "bench-harness");
    this.redis.on("error", () => undefined);
    this.store = new JobStore(this.redis, {
      keyPrefix: this.config.redis.keyPrefix,
      statusTtlSec: 3600,
      leaseTtlMs: 60_000,
      workerId: "bench",
    });
  }

  static async start(): Promise<BenchStack> {
    process.env.AWS_ACCESS_KEY_ID ??= "local";
    process.env.AWS_SECRET_ACCESS_KEY ??= "local";
    process.env.AWS_REGION ??= "us-east-1";
    const tempDir = await mkdtemp(path.join(os.tmpdir(), "mp-bench-"));
    const local = await startLocalStack({ maxReceiveCount: 3 });
    return new BenchStack(local, tempDir);
  }

  /** The env a worker process of this stack gets; `extra` wins. */
  workerEnv(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.baseEnv, ...extra };
  }

  get redisPort(): number {
    return Number(new URL(this.config.redis.url).port);
  }

  /** Uploads each file under `<prefix><run tag>-<index>-<name>`: a new key, so a new job id per run. */
  async upload(files: readonly string[], runTag: string): Promise<UploadedInput[]> {
    const uploaded: UploadedInput[] = [];
    for (const [index, file] of files.entries()) {
      const key = `${KEY_PREFIX}${runTag}-${index}-${path.basename(file)}`;
      uploaded.push(await this.uploadBody(key, file));
    }
    return uploaded;
  }

  /** A file path (streamed; multipart above 8 MiB, as the emulator takes at most 11 MiB per request) or bytes. */
  async uploadBody(key: string, body: string | Buffer): Promise<UploadedInput> {
    const bytes = typeof body === "string" ? (await stat(body)).size : body.length;
    let eTag: string;
    if (typeof body === "string" && bytes > MULTIPART_PART_BYTES) {
      const upload = new Upload({
        client: this.s3,
        params: { Bucket: this.local.bucket, Key: key, Body: createReadStream(body) },
        partSize: MULTIPART_PART_BYTES,
        queueSize: 2,
      });
      eTag = bareETag((await upload.done()).ETag) ?? "";
    } else {
      const response = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.local.bucket,
          Key: key,
          Body: typeof body === "string" ? createReadStream(body) : body,
          ContentLength: bytes,
        }),
      );
      eTag = bareETag(response.ETag) ?? "";
    }
    return { key, eTag, bytes, jobId: jobIdFor({ bucket: this.local.bucket, key, eTag }) };
  }

  /** Sends one S3 notification per input, ten to a batch call. Returns the epoch ms before the first send. */
  async sendS3Events(inputs: readonly UploadedInput[]): Promise<number> {
    const startedAt = Date.now();
    for (let offset = 0; offset < inputs.length; offset += 10) {
      const entries = inputs.slice(offset, offset + 10).map((input, index) => ({
        Id: String(offset + index),
        MessageBody: buildS3Notification([
          { bucket: this.local.bucket, key: input.key, size: input.bytes, eTag: input.eTag },
        ]),
      }));
      await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.config.queue.queueUrl, Entries: entries }));
    }
    return startedAt;
  }

  /** Polls the job records (cheaply) until all are terminal; throws on timeout. */
  async waitForJobs(jobIds: readonly string[], timeoutMs: number): Promise<JobRecord[]> {
    const deadline = Date.now() + timeoutMs;
    const statusKey = (id: string) => `${this.config.redis.keyPrefix}job:${id}`;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(jobIds.map((id) => this.redis.hget(statusKey(id), "status")));
      if (statuses.every((status) => status !== null && isTerminal(status as JobRecord["status"]))) {
        return Promise.all(jobIds.map(async (id) => (await this.store.get(id))!));
      }
      await sleep(200);
    }
    throw new Error(`jobs not finished after ${Math.round(timeoutMs / 1000)} s`);
  }

  /** Sends the events, waits for every job, and insists that each completed. */
  async runJobs(inputs: readonly UploadedInput[], timeoutMs: number): Promise<PipelineRun> {
    const startedAt = await this.sendS3Events(inputs);
    const jobs = await this.waitForJobs(
      inputs.map((input) => input.jobId),
      timeoutMs,
    );
    const failed = jobs.filter((job) => job.status !== "completed");
    if (failed.length > 0)
      throw new Error(
        `${failed.length} bench job(s) did not complete: ${JSON.stringify(failed[0]!.error ?? failed[0]!.status)}`,
      );
    const lastFinished = Math.max(...jobs.map((job) => Date.parse(job.finishedAt!)));
    return { wallMs: lastFinished - startedAt, jobs };
  }

  /** Visible + in-flight + delayed messages of the media queue. */
  async queueCount(): Promise<number> {
    const { Attributes: attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.config.queue.queueUrl,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      }),
    );
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  /** Polls the queue every `intervalMs` until it holds nothing; returns the epoch ms it was seen empty. */
  async waitForEmptyQueue(timeoutMs: number, intervalMs = 20): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.queueCount()) === 0) return Date.now();
      await sleep(intervalMs);
    }
    throw new Error(`queue not empty after ${Math.round(timeoutMs / 1000)} s`);
  }

  async purgeQueue(): Promise<void> {
    await this.sqs.send(new PurgeQueueCommand({ QueueUrl: this.config.queue.queueUrl })).catch(() => undefined);
  }

  /** Deletes every object under the bench prefix (inputs and outputs), so the in-memory emulator stays small. */
  async clearObjects(prefix = KEY_PREFIX): Promise<void> {
    let token: string | undefined;
    const keys: string[] = [];
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.local.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.NextContinuationToken;
    } while (token);
    for (let offset = 0; offset < keys.length; offset += 16) {
      await Promise.all(
        keys
          .slice(offset, offset + 16)
          .map((key) => this.s3.send(new DeleteObjectCommand({ Bucket: this.local.bucket, Key: key }))),
      );
    }
  }

  async stop(): Promise<void> {
    this.s3.destroy();
    this.sqs.destroy();
    this.redis.disconnect();
    await this.local.stop();
    await rm(this.tempDir, { recursive: true, force: true });
  }
}

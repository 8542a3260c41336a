import type { Message } from "@aws-sdk/client-sqs";
import path from "node:path";
import type { AppConfig } from "./config/config.ts";
import { createLogger, redactUrl, type Logger } from "./logger.ts";
import { startJobSweeper } from "./jobs/job-sweeper.ts";
import { JobStore } from "./jobs/job.store.ts";
import { createRedisClient } from "./jobs/redis.client.ts";
import { WorkerRegistry } from "./jobs/worker.registry.ts";
import type { DetectedMedia } from "./media/detected-media.ts";
import { startHealthServer, type HealthServer } from "./metrics/health.server.ts";
import { createMetrics, type Metrics } from "./metrics/metrics.ts";
import { FairShare } from "./lanes/fair-share.ts";
import { laneCapacity } from "./lanes/lane-capacity.ts";
import { LaneGate } from "./lanes/lane-gate.ts";
import { startLaneTenantPoller } from "./lanes/lane-metrics.ts";
import { heldMessageFacts, tenantOfMessage } from "./lanes/message-tenant.ts";
import { compileTenantPattern } from "./s3-events/key-rules.ts";
import { JobEventPublisher } from "./job-events/job-event.publisher.ts";
import { WebhookOutbox } from "./webhooks/webhook-outbox.ts";
import { createJobEventTopic } from "./job-events/sns.client.ts";
import { CancelRegistry } from "./pipeline/cancel.registry.ts";
import { JobRunner } from "./pipeline/job.runner.ts";
import { ChunkHandOff } from "./pipeline/chunked/chunk-handoff.ts";
import { ChunkRunner } from "./pipeline/chunked/chunk.runner.ts";
import { ChunkSourceCache } from "./pipeline/chunked/source-cache.ts";
import { ChunkStore } from "./pipeline/chunked/chunk.store.ts";
import { createMessageHandler } from "./pipeline/message.handler.ts";
import { prepareTempRoot, workerFolderName } from "./pipeline/temp-dirs.ts";
import { builtinProcessors } from "./processors/builtin.ts";
import type { Processor } from "./processors/processor.ts";
import { loadPluginProcessors, ProcessorRegistry } from "./processors/registry.ts";
import { MediaConsumer } from "./queue/media.consumer.ts";
import { queuesReadiness } from "./queue/queue-readiness.ts";
import { startQueueDepthPoller } from "./queue/queue.stats.ts";
import { createSqsClient } from "./queue/sqs.client.ts";
import { ObjectStore } from "./storage/object-store.ts";
import { createS3Client } from "./storage/s3.client.ts";

export interface Worker {
  config: AppConfig;
  metrics: Metrics;
  store: JobStore;
  health: HealthServer;
  /** The first lane's consumer (the only one with one lane). */
  consumer: MediaConsumer;
  /** One consumer per lane this worker serves (WORKER_LANES), in MEDIA_LANES order. */
  consumers: MediaConsumer[];
  processorNames: string[];
  /** Ordered, idempotent shutdown; `graceMs` overrides SHUTDOWN_GRACE_PERIOD. */
  stop(graceMs?: number): Promise<void>;
}

export interface WorkerOptions {
  logger?: Logger;
  /** Extra processors (tests, embedding), tried before plug-ins and built-ins. */
  processors?: Processor[];
  refineMedia?: (inputPath: string, media: DetectedMedia, signal: AbortSignal) => Promise<DetectedMedia>;
  /** Fault injection for tests: where the cancel-channel subscriber connects (default REDIS_URL). */
  cancelSubscriberUrl?: string;
}

/** Composition root of the worker: wires clients, starts consuming, stops in order. */
export async function startWorker(config: AppConfig, options: WorkerOptions = {}): Promise<Worker> {
  const logger = options.logger ?? createLogger(config.logLevel, { workerId: config.workerId });
  const redis = createRedisClient(config.redis.url, `media-worker:${config.workerId}`);
  const subscriber = createRedisClient(
    options.cancelSubscriberUrl ?? config.redis.url,
    `media-worker-cancel:${config.workerId}`,
  );
  const redisErrors = (error: Error) => logger.warn({ err: error.message }, "redis connection error");
  redis.on("error", redisErrors);
  subscriber.on("error", redisErrors);
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const metrics = createMetrics();
  const store = new JobStore(redis, {
    keyPrefix: config.redis.keyPrefix,
    statusTtlSec: config.jobs.statusTtlSec,
    leaseTtlMs: config.jobs.leaseTtlMs,
    workerId: config.workerId,
  });
  const plugins = await loadPluginProcessors(config.processorModules, config);
  const registry = new ProcessorRegistry([...(options.processors ?? []), ...plugins, ...builtinProcessors(config)]);
  const workers = new WorkerRegistry(redis, config.redis.keyPrefix, config.workerHeartbeatMs);
  const folder = workerFolderName(config.workerId);
  const { root: tempRoot, removed } = await prepareTempRoot(config.storage.tempDir, config.workerId, (name) =>
    workers.isAlive(name).catch(() => true),
  );
  if (removed.length > 0) logger.info({ removed }, "removed temp folders of dead workers");

  const cancels = new CancelRegistry();
  cancels.listen(subscriber, store.cancelChannel, logger);
  const jobEventTopic = createJobEventTopic(config);
  const jobEvents = new JobEventPublisher({
    store,
    topic: jobEventTopic.topic,
    metrics,
    outputBucket: config.storage.outputBucket,
    ...(config.jobEvents.webhooksEnabled ? { webhooks: new WebhookOutbox(redis, config.redis.keyPrefix) } : {}),
  });
  const objects = new ObjectStore(s3);
  // Chunked video (VIDEO_CHUNK_SECONDS): the planner's hand-off and the chunk tasks; the job lease is held for the tasks a processing timeout at a time.
  const chunkStore = new ChunkStore(redis, {
    keyPrefix: config.redis.keyPrefix,
    statusTtlSec: config.jobs.statusTtlSec,
  });
  const holdMs = Math.max(config.jobs.leaseTtlMs, config.jobs.processingTimeoutMs);
  const served = config.lanes.all.filter((lane) => config.lanes.served.includes(lane.name));
  const slots = served.reduce((sum, lane) => sum + lane.concurrency, 0);
  // Kept sources + running jobs' inputs, one per slot at most: the temp volume is sized for slots × the largest input.
  const sources =
    config.video.chunkSeconds > 0 && config.video.chunkSourceCacheSeconds > 0
      ? new ChunkSourceCache({
          dir: path.join(tempRoot, "chunk-sources"),
          maxEntries: Math.max(1, slots),
          idleMs: config.video.chunkSourceCacheSeconds * 1000,
        })
      : undefined;
  const chunks = new ChunkRunner({
    config,
    store,
    chunks: chunkStore,
    objects,
    metrics,
    cancels,
    jobEvents,
    logger,
    tempRoot,
    holdMs,
    ...(sources ? { sources } : {}),
  });
  const runner = new JobRunner({
    config,
    store,
    objects,
    registry,
    metrics,
    cancels,
    jobEvents,
    logger,
    tempRoot,
    ...(config.video.chunkSeconds > 0
      ? {
          chunks: new ChunkHandOff({ sqs, store, chunks: chunkStore, holdMs, logger, ...(sources ? { sources } : {}) }),
        }
      : {}),
    ...(sources ? { sources } : {}),
    ...(options.refineMedia ? { refineMedia: options.refineMedia } : {}),
  });
  // Lanes (src/lanes): one consumer per served lane queue, each with its lane's concurrency; its
  // gate forwards what belongs to another lane and applies fair share within the lane.
  const fairShares = served.map(
    (lane) =>
      new FairShare({
        redis,
        keyPrefix: config.redis.keyPrefix,
        lane: lane.name,
        enabled: config.lanes.fairShare.enabled,
        windowMs: config.lanes.fairShare.windowMs,
        slotTtlMs: config.jobs.leaseTtlMs,
        capacity: laneCapacity(workers, lane.name, lane.concurrency),
        logger,
      }),
  );
  const parseRules = { sourceBuckets: config.storage.sourceBuckets, outputSegment: config.storage.outputSegment };
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  /** The held messages' tenants, and whether each may still be put back (probe or backlog). */
  const heldFacts = (held: readonly Message[]) => {
    const facts = held.map((message) => heldMessageFacts(message, parseRules, ownerOf));
    return { tenants: facts.map((fact) => fact.tenant), deferrable: facts.map((fact) => fact.mayProbe) };
  };
  const consumers = served.map(
    (lane, index) =>
      new MediaConsumer({
        sqs,
        queueUrl: lane.queueUrl,
        concurrency: lane.concurrency,
        batchSize: config.queue.batchSize,
        waitTimeSeconds: config.queue.waitTimeSeconds,
        visibilityTimeoutSec: config.queue.visibilityTimeoutSec,
        heartbeatIntervalSec: config.queue.heartbeatIntervalSec,
        lookahead: lane.lookahead,
        ...(fairShares[index]!.enabled
          ? {
              pickNext: (held) =>
                fairShares[index]!.pickNext(held.map((message) => tenantOfMessage(message, parseRules, ownerOf))),
              newcomerSlots: lane.newcomerSlots,
              pickNewcomer: (held) =>
                fairShares[index]!.pickNewcomer(held.map((message) => tenantOfMessage(message, parseRules, ownerOf))),
              ...(lane.backlogQueueUrl
                ? {
                    backlogQueueUrl: lane.backlogQueueUrl,
                    pickSpill: (held, count) => {
                      const { tenants, deferrable } = heldFacts(held);
                      return fairShares[index]!.pickSpill(tenants, deferrable, count);
                    },
                  }
                : {
                    pickProbe: (held) => {
                      const { tenants, deferrable } = heldFacts(held);
                      return fairShares[index]!.pickProbe(tenants, deferrable);
                    },
                  }),
            }
          : {}),
        handler: createMessageHandler({
          config,
          runner,
          metrics,
          logger: served.length > 1 ? logger.child({ lane: lane.name }) : logger,
          // Chunk tasks are always run, so a worker with chunking off still finishes a fleet-mate's chunked video.
          chunks,
          queueUrl: lane.queueUrl,
          gate: new LaneGate({
            lane,
            lanes: config.lanes.all,
            objects,
            sqs,
            store,
            fairShare: fairShares[index]!,
            deferSec: config.lanes.fairShare.deferSec,
            metrics,
            logger,
          }),
        }),
        logger,
        onReceive: (count) => metrics.messagesReceived.inc(count),
      }),
  );
  const consumer = consumers[0]!;
  const inFlight = () => consumers.reduce((sum, each) => sum + each.inFlight, 0);

  let stopping = false;
  const health = await startHealthServer(
    config.metricsPort,
    metrics.registry,
    [
      { name: "redis", check: async () => (await redis.ping()) === "PONG" },
      queuesReadiness(sqs, [config.queue.queueUrl, ...config.lanes.all.map((lane) => lane.queueUrl)]),
    ],
    () => !stopping,
  );
  const stopPoller = startQueueDepthPoller(
    sqs,
    [
      { name: "media", url: config.queue.queueUrl },
      { name: "dlq", url: config.queue.dlqUrl },
    ],
    metrics.queueMessages,
    15_000,
    logger,
  );
  const stopLanePoller =
    config.lanes.all.length > 1 || config.lanes.fairShare.enabled
      ? startLaneTenantPoller({ sqs, lanes: config.lanes.all, fairShares, metrics, intervalMs: 15_000, logger })
      : () => undefined;
  const startedAt = Date.now();
  const stopBeating = workers.start(
    folder,
    () => ({
      id: config.workerId,
      concurrency: slots,
      inFlight: inFlight(),
      startedAt,
      lanes: Object.fromEntries(served.map((lane) => [lane.name, lane.concurrency])),
    }),
    (error) => logger.warn({ err: error }, "worker heartbeat failed"),
  );
  const stopSweeper = startJobSweeper(store, config.jobs.sweepIntervalMs, logger);
  for (const each of consumers) each.start();
  logger.info(
    {
      queueUrl: config.queue.queueUrl,
      ...(config.lanes.all.length > 1
        ? { lanes: served.map((lane) => ({ lane: lane.name, queueUrl: lane.queueUrl, concurrency: lane.concurrency })) }
        : {}),
      redis: redactUrl(config.redis.url),
      concurrency: config.queue.concurrency,
      processors: registry.names,
      metricsPort: health.port,
      jobEventsTopic: config.jobEvents.topicArn ?? "off",
    },
    "worker started",
  );

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = config.queue.shutdownGraceMs): Promise<void> => {
    stopping = true;
    stopped ??= (async () => {
      const guard = async (name: string, step: () => Promise<unknown> | unknown) => {
        try {
          await step();
        } catch (error) {
          logger.warn({ err: error, step: name }, "shutdown step failed");
        }
      };
      logger.info({ inFlight: inFlight(), graceMs }, "stopping: no new messages; draining in-flight jobs");
      await guard("consumer", () => Promise.all(consumers.map((each) => each.stop(graceMs))));
      await guard("timers", () => {
        stopPoller();
        stopLanePoller();
        stopBeating();
        stopSweeper();
      });
      await guard("processors", () => registry.close());
      await guard("kept chunk sources", async () => sources?.close());
      await guard("worker registry", () => workers.remove(folder));
      await guard("health server", () => health.close());
      await guard("redis", async () => {
        // QUIT waits for an answer: a subscriber still connecting would hold shutdown.
        if (subscriber.status === "ready") await subscriber.quit().catch(() => subscriber.disconnect());
        else subscriber.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      });
      s3.destroy();
      sqs.destroy();
      jobEventTopic.close();
      logger.info("worker stopped");
    })();
    return stopped;
  };
  return { config, metrics, store, health, consumer, consumers, processorNames: registry.names, stop };
}

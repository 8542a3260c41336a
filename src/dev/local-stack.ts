import { createLogger, type Logger } from "../logger.ts";
import { startEmulator, type RunningEmulator } from "./emulator.ts";
import { RedisServerProcess } from "./redis-server.ts";
import { stopOnExit } from "./stop-on-exit.ts";

/**
 * The embedded local stack: the S3+SQS emulator in-process and a real redis-server child,
 * both on free loopback ports. `env` holds the variables a worker needs to use it.
 */
export interface LocalStack {
  emulator: RunningEmulator;
  redis: RedisServerProcess;
  bucket: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  bucket?: string;
  maxReceiveCount?: number;
  /** Emit S3 notifications for uploads like a configured bucket would (the `dev` mode); tests and the demo send events themselves. */
  notifications?: boolean;
  /** Redis keeps its data across stop/start (fault tests take it away and bring it back). */
  persistentRedis?: boolean;
  logger?: Logger;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const bucket = options.bucket ?? "media-uploads";
  const logger = options.logger ?? createLogger("warn");
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const redis = await RedisServerProcess.start(undefined, { persistent: options.persistentRedis ?? false });
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ port: 0, buckets: [bucket], maxReceiveCount, logger, notificationPollMs: 500 });
  } catch (error) {
    await redis.destroy();
    throw error;
  }
  if (!options.notifications) await emulator.bridge.stop();
  const env: Record<string, string> = {
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    MEDIA_BUCKET: bucket,
    MEDIA_PROCESSING_QUEUE_URL: emulator.queueUrl,
    MEDIA_DLQ_URL: emulator.dlqUrl,
    REDIS_URL: redis.url,
    MAX_PROCESSING_RETRIES: String(maxReceiveCount),
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    unregister();
    stopped ??= Promise.allSettled([emulator.stop(), redis.destroy()]).then(() => undefined);
    return stopped;
  };
  // An interrupted demo, dev mode, benchmark or test stops the stack too (stop-on-exit.ts).
  const unregister = stopOnExit("local stack", stop);
  return { emulator, redis, bucket, env, stop };
}

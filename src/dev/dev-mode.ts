import { readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { loadConfig } from "../config/config.ts";
import { buildS3Notification, newSequencer } from "../events/s3-event.parser.ts";
import { jobIdFor } from "../jobs/job.model.ts";
import { createLogger } from "../logger.ts";
import { createSqsClient } from "../queue/sqs.client.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { ObjectStore } from "../storage/object-store.ts";
import { startWorker } from "../worker.ts";
import { startLocalStack } from "./local-stack.ts";

/** Where `dev` tells `upload` how to reach its stack. */
export const DEV_STATE_FILE = path.join(os.tmpdir(), "media-processor-dev.json");

/** `dev`: the local stack and a worker, running until Ctrl-C. */
export async function runDev(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const stack = await startLocalStack();
  const config = loadConfig({ ...process.env, ...stack.env, METRICS_PORT: process.env.METRICS_PORT ?? "9464" });
  const logger = createLogger(config.logLevel, { workerId: config.workerId });
  const worker = await startWorker(config, { logger });
  await writeFile(DEV_STATE_FILE, JSON.stringify(stack.env, null, 2));
  process.stdout.write(
    [
      "",
      "media-processor dev stack is up:",
      ...Object.entries(stack.env).filter(([name]) => !name.startsWith("AWS_SECRET")).map(([name, value]) => `  ${name}=${value}`),
      `  metrics: http://127.0.0.1:${worker.health.port}/metrics`,
      "Upload a file from another terminal:  npm run upload -- path/to/file.jpg",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await worker.stop();
  await stack.stop();
  await rm(DEV_STATE_FILE, { force: true });
}

/** `upload <file> [key]`: puts a file into the dev stack's bucket and sends its S3 event. */
export async function runUpload(args: string[]): Promise<number> {
  const file = args[0];
  if (!file) {
    process.stderr.write("usage: media-processor upload <file> [key]\n");
    return 2;
  }
  const devEnv = await readFile(DEV_STATE_FILE, "utf8").then((text) => JSON.parse(text) as Record<string, string>).catch((): Record<string, string> => ({}));
  const config = loadConfig({ ...devEnv, ...process.env, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? devEnv.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? devEnv.AWS_SECRET_ACCESS_KEY });
  process.env.AWS_ACCESS_KEY_ID ??= devEnv.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY ??= devEnv.AWS_SECRET_ACCESS_KEY;
  const bucket = config.storage.sourceBuckets[0]!;
  const key = args[1] ?? `tenants/dev/users/dev/media/${Math.floor(Date.now() / 1000)}-${path.basename(file)}`;
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const objects = new ObjectStore(s3);
  const size = await objects.upload({ bucket, key, body: { file }, contentType: "application/octet-stream" });
  const eTag = ((await objects.head(bucket, key)).eTag ?? "").replace(/"/g, "");
  // A new sequencer, as S3 gives every PUT: uploading the same file twice is two jobs.
  const sequencer = newSequencer();
  await sqs.send(new SendMessageCommand({ QueueUrl: config.queue.queueUrl, MessageBody: buildS3Notification([{ bucket, key, size, eTag, sequencer }]) }));
  process.stdout.write(`${JSON.stringify({ bucket, key, jobId: jobIdFor({ bucket, key, eTag, sequencer }) })}\n`);
  s3.destroy();
  sqs.destroy();
  return 0;
}

import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { loadApiConfig, loadConfig } from "../config/config.ts";
import { API_VARS, WORKER_VARS } from "../config/config.schema.ts";
import { buildS3Notification, newSequencer } from "../s3-events/s3-event.parser.ts";
import { jobIdFor } from "../jobs/job.model.ts";
import { createLogger } from "../logger.ts";
import { createSqsClient } from "../queue/sqs.client.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { ObjectStore } from "../storage/object-store.ts";
import { startApiServer } from "../api-server.ts";
import { startWorker } from "../worker.ts";
import { chooseDevState, removeDevState, writeDevState } from "./dev-state.ts";
import { startLocalStack } from "./local-stack.ts";
import { untilInterrupted } from "./stop-on-exit.ts";

/**
 * `dev`: the local stack, a worker and the API with the console, running until Ctrl-C. The
 * environment it prints is complete (an API or worker started from it works as is), it has an
 * intake queue so uploads are listed as queued at once, and the API token is printed once
 * (API_TOKEN to choose it, API_INSECURE_NO_AUTH=true for none). API_PORT and METRICS_PORT
 * default to 8080 and 9464, or a free port when another dev stack has them.
 */
export async function runDev(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const stack = await startLocalStack();
  const sqs = createSqsClient({
    region: stack.env.AWS_REGION!,
    endpointUrl: stack.env.AWS_ENDPOINT_URL,
    forcePathStyle: true,
  });
  const intake = await sqs.send(new CreateQueueCommand({ QueueName: "media-intake" }));
  sqs.destroy();
  // Read with the declared parser (an invalid value counts as off here; loadApiConfig then reports it).
  const insecure = API_VARS.API_INSECURE_NO_AUTH.schema.safeParse(process.env.API_INSECURE_NO_AUTH).data === true;
  const token = insecure ? undefined : process.env.API_TOKEN || randomBytes(24).toString("hex");
  const env: Record<string, string> = {
    ...stack.env,
    MEDIA_INTAKE_QUEUE_URL: intake.QueueUrl!,
    METRICS_PORT: String(await portOr(Number(process.env.METRICS_PORT ?? WORKER_VARS.METRICS_PORT.default))),
    API_PORT: String(await portOr(Number(process.env.API_PORT ?? API_VARS.API_PORT.default))),
    ...(token ? { API_TOKEN: token } : { API_INSECURE_NO_AUTH: "true" }),
  };
  const config = loadApiConfig({ ...process.env, ...env });
  const logger = createLogger(config.logLevel, { workerId: config.workerId });
  const worker = await startWorker(config, { logger });
  const api = await startApiServer(config, { logger: logger.child({ role: "api" }) });
  const stateFile = await writeDevState(env);
  process.stdout.write(
    [
      "",
      "media-processor dev stack is up. Its environment (enough for `node src/cli.ts worker|api` against it):",
      ...Object.entries(env).map(([name, value]) => `  ${name}=${value}`),
      `  console:  http://127.0.0.1:${api.port}/  ${token ? "(token: API_TOKEN above)" : "(no token: API_INSECURE_NO_AUTH)"}`,
      `  metrics:  http://127.0.0.1:${worker.health.port}/metrics`,
      `  state:    ${stateFile}`,
      "Upload a file from another terminal:  npm run upload -- path/to/file.jpg",
      `  (with several dev stacks: MEDIA_PROCESSOR_DEV_STATE=${stateFile} npm run upload -- …)`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  // Stops in its own order below; a second Ctrl-C stops everything at once (stop-on-exit.ts).
  await untilInterrupted();
  await api.stop();
  await worker.stop();
  await stack.stop();
  await removeDevState(stateFile);
}

/** `upload <file> [key]`: puts a file into the dev stack's bucket and sends its S3 event (to the intake queue when it has one). */
export async function runUpload(args: string[]): Promise<number> {
  const file = args[0];
  if (!file) {
    process.stderr.write("usage: media-processor upload <file> [key]\n");
    return 2;
  }
  const choice = await chooseDevState();
  if (choice.kind === "none") {
    process.stderr.write("no dev stack is running: start one with `npm run dev`\n");
    return 2;
  }
  if (choice.kind === "several") {
    process.stderr.write(
      `several dev stacks are running; choose one with MEDIA_PROCESSOR_DEV_STATE=<file>:\n${choice.files.map((name) => `  ${name}`).join("\n")}\n`,
    );
    return 2;
  }
  const devEnv = choice.env;
  const config = loadConfig({ ...process.env, ...devEnv });
  process.env.AWS_ACCESS_KEY_ID = devEnv.AWS_ACCESS_KEY_ID ?? process.env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = devEnv.AWS_SECRET_ACCESS_KEY ?? process.env.AWS_SECRET_ACCESS_KEY;
  const bucket = config.storage.sourceBuckets[0]!;
  const key = args[1] ?? `tenants/dev/users/dev/media/${Math.floor(Date.now() / 1000)}-${path.basename(file)}`;
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const objects = new ObjectStore(s3);
  const size = await objects.upload({ bucket, key, body: { file }, contentType: "application/octet-stream" });
  const eTag = (await objects.head(bucket, key)).eTag ?? "";
  // A new sequencer, as S3 gives every PUT: uploading the same file twice is two jobs.
  const sequencer = newSequencer();
  const queueUrl = config.queue.intakeQueueUrl ?? config.queue.queueUrl;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: buildS3Notification([{ bucket, key, size, eTag, sequencer }]),
    }),
  );
  process.stdout.write(`${JSON.stringify({ bucket, key, jobId: jobIdFor({ bucket, key, eTag, sequencer }) })}\n`);
  s3.destroy();
  sqs.destroy();
  return 0;
}

/** `preferred` when nothing listens on it, else a free port (a second dev stack). */
function portOr(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => {
      const fallback = net.createServer();
      fallback.listen(0, "127.0.0.1", () => {
        const port = (fallback.address() as net.AddressInfo).port;
        fallback.close(() => resolve(port));
      });
    });
    probe.listen(preferred, () => probe.close(() => resolve(preferred)));
  });
}

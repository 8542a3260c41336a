import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { loadConfig } from "../config/config.ts";
import { buildS3Notification } from "../events/s3-event.parser.ts";
import { isTerminal, jobIdFor, type JobRecord } from "../jobs/job.model.ts";
import { createLogger } from "../logger.ts";
import { createSqsClient } from "../queue/sqs.client.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { ObjectStore } from "../storage/object-store.ts";
import { outputLayout } from "../storage/output-keys.ts";
import { startWorker } from "../worker.ts";
import { startLocalStack } from "./local-stack.ts";
import { generateSamples } from "./samples.ts";

export interface DemoOptions {
  files: string[];
  outDir: string | undefined;
  json: boolean;
  timeoutMs: number;
}

export function parseDemoArgs(args: string[]): DemoOptions {
  const options: DemoOptions = { files: [], outDir: undefined, json: false, timeoutMs: 15 * 60_000 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--out") options.outDir = path.resolve(args[++i] ?? "demo-out");
    else if (arg === "--json") options.json = true;
    else if (arg === "--timeout") options.timeoutMs = Number(args[++i]) * 1000;
    else options.files.push(path.resolve(arg));
  }
  return options;
}

interface DemoRow {
  id: string;
  sourceKey: string;
  type: string;
  status: string;
  errorCategory: string | undefined;
  errorCode: string | undefined;
  durationMs: number | undefined;
  outputs: string[];
}

/**
 * The end-to-end demo: local stack up, worker up, sample (or given) files uploaded and their S3
 * events sent, wait until every job is terminal, print what happened. Exit code 0 only if every
 * job completed.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const work = await mkdtemp(path.join(os.tmpdir(), "mp-demo-"));
  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  log("starting the local stack (S3+SQS emulator in-process, redis-server child)…");
  const stack = await startLocalStack();
  const config = loadConfig({
    ...process.env,
    ...stack.env,
    TEMP_DIR: path.join(work, "tmp"),
    METRICS_PORT: process.env.METRICS_PORT ?? "0",
    SQS_WAIT_TIME_SECONDS: "1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const worker = await startWorker(config, { logger: createLogger(config.logLevel, { workerId: config.workerId }) });
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const objects = new ObjectStore(s3);
  try {
    const files = options.files.length > 0 ? options.files : await samplesWithProcessors(work, worker.processorNames, log);
    log(`worker up (metrics on :${worker.health.port}); uploading ${files.length} file(s)…`);
    const jobs: Array<{ id: string; key: string }> = [];
    const stamp = Math.floor(Date.now() / 1000);
    for (const [index, file] of files.entries()) {
      const key = `tenants/demo/users/demo/media/${stamp}-${index}-${path.basename(file)}`;
      // Multipart above 8 MiB, as S3 clients upload large media.
      const size = await objects.upload({ bucket: stack.bucket, key, body: { file }, contentType: "application/octet-stream" });
      const eTag = ((await objects.head(stack.bucket, key)).eTag ?? "").replace(/"/g, "");
      // The emulator does not emit bucket notifications: send the one S3 would have sent.
      await sqs.send(new SendMessageCommand({ QueueUrl: config.queue.queueUrl, MessageBody: buildS3Notification([{ bucket: stack.bucket, key, size, eTag }]) }));
      jobs.push({ id: jobIdFor({ bucket: stack.bucket, key, eTag }), key });
    }
    const records = await waitForAll(worker.store.get.bind(worker.store), jobs.map((job) => job.id), options.timeoutMs, log);
    const rows: DemoRow[] = jobs.map(({ id, key }) => toRow(id, key, records.get(id)));
    if (options.outDir) {
      const outDir = options.outDir;
      for (const row of rows) {
        const keys = await listOutputs(async (prefix) => {
          const found: string[] = [];
          let token: string | undefined;
          do {
            const page = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix, ContinuationToken: token }));
            for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
            token = page.NextContinuationToken;
          } while (token);
          return found;
        }, row.sourceKey, config.storage.outputSegment);
        await downloadOutputs(outDir, keys, async (key) => {
          const object = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
          return Buffer.from(await object.Body!.transformToByteArray());
        });
      }
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ jobs: rows }, null, 2)}\n`);
    else printTable(rows, log);
    if (options.outDir) log(`outputs and manifests downloaded to ${options.outDir}`);
    const allCompleted = rows.every((row) => row.status === "completed");
    log(allCompleted ? `all ${rows.length} jobs completed` : `${rows.filter((row) => row.status !== "completed").length} of ${rows.length} jobs did not complete`);
    return allCompleted ? 0 : 1;
  } finally {
    await worker.stop(5_000);
    s3.destroy();
    sqs.destroy();
    await stack.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Samples of the media types this build can process (a processor not built yet is skipped, and said so). */
async function samplesWithProcessors(folder: string, processorNames: string[], log: (line: string) => void): Promise<string[]> {
  const samples = await generateSamples(folder);
  const skipped = samples.filter((sample) => !processorNames.includes(sample.kind));
  if (skipped.length > 0) log(`no ${[...new Set(skipped.map((sample) => sample.kind))].join("/")} processor in this build: skipping ${skipped.map((sample) => path.basename(sample.file)).join(", ")}`);
  return samples.filter((sample) => processorNames.includes(sample.kind)).map((sample) => sample.file);
}

async function waitForAll(get: (id: string) => Promise<JobRecord | undefined>, ids: string[], timeoutMs: number, log: (line: string) => void): Promise<Map<string, JobRecord>> {
  const deadline = Date.now() + timeoutMs;
  const records = new Map<string, JobRecord>();
  let lastReport = 0;
  while (Date.now() < deadline) {
    for (const id of ids) {
      const record = await get(id);
      if (record) records.set(id, record);
    }
    const done = ids.filter((id) => {
      const record = records.get(id);
      return record !== undefined && isTerminal(record.status);
    }).length;
    if (done === ids.length) break;
    if (Date.now() - lastReport > 5_000) {
      log(`  ${done}/${ids.length} jobs finished…`);
      lastReport = Date.now();
    }
    await sleep(200);
  }
  return records;
}

function toRow(id: string, key: string, record: JobRecord | undefined): DemoRow {
  const result = record?.result as { outputs?: Array<{ key: string }>; manifestKey?: string } | undefined;
  return {
    id,
    sourceKey: key,
    type: record?.type ?? "unknown",
    status: record?.status ?? "missing",
    errorCategory: record?.error?.category,
    errorCode: record?.error?.code,
    durationMs: record?.durationMs,
    outputs: [...(result?.outputs ?? []).map((output) => output.key), ...(result?.manifestKey ? [result.manifestKey] : [])],
  };
}

function printTable(rows: DemoRow[], log: (line: string) => void): void {
  const lines = rows.map((row) => [
    row.id.slice(0, 12),
    path.basename(row.sourceKey).replace(/^\d+-\d+-/, ""),
    row.type,
    row.status + (row.errorCode ? ` (${row.errorCategory}/${row.errorCode})` : ""),
    row.durationMs !== undefined ? `${(row.durationMs / 1000).toFixed(2)} s` : "-",
    String(row.outputs.length),
  ]);
  const header = ["job", "file", "type", "status", "duration", "outputs"];
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ");
  log("");
  log(format(header));
  log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) log(format(line));
  log("");
}

/**
 * Every object a job wrote: `<base>_*` files and the `<base>/` tree (HLS segments are stored but
 * not listed one by one in the job result, so the demo lists the bucket to get a playable tree).
 */
async function listOutputs(list: (prefix: string) => Promise<string[]>, sourceKey: string, outputSegment: string): Promise<string[]> {
  const layout = outputLayout(sourceKey, outputSegment);
  return [...(await list(`${layout.prefix}${layout.base}_`)), ...(await list(`${layout.prefix}${layout.base}/`))];
}

async function downloadOutputs(outDir: string, keys: string[], fetchObject: (key: string) => Promise<Buffer>): Promise<void> {
  for (const key of keys) {
    const target = path.join(outDir, key);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, await fetchObject(key));
  }
}

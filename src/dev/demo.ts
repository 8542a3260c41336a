import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { loadConfig } from "../config/config.ts";
import { buildS3Notification, newSequencer } from "../s3-events/s3-event.parser.ts";
import { isTerminal, jobIdFor, type JobRecord } from "../jobs/job.model.ts";
import { createLogger } from "../logger.ts";
import { createSqsClient } from "../queue/sqs.client.ts";
import { createS3Client } from "../storage/s3.client.ts";
import { ObjectStore } from "../storage/object-store.ts";
import { manifestKey, outputLayout, runPrefixes } from "../storage/output-keys.ts";
import { startWorker } from "../worker.ts";
import { startLocalStack } from "./local-stack.ts";
import { generateSamples } from "./samples.ts";
import { stopOnExit } from "./stop-on-exit.ts";

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

/** A file to upload and the key it gets under the demo user's media folder. */
export interface DemoInput {
  file: string;
  /** Relative to `tenants/demo/users/demo/media/`. */
  name: string;
}

/** A path the demo cannot use; reported as one line, exit code 2. */
export class DemoInputError extends Error {}

/**
 * The files to process: each file as given, and every file under each folder (recursively, in
 * name order, hidden files such as `.DS_Store` skipped), keeping their relative paths so files
 * side by side in a folder (an iPhone Live Photo's `IMG_1234.HEIC` and `IMG_1234.MOV`) stay
 * side by side in the bucket. Every upload gets its own `<stamp>-<n>-` prefix.
 */
export async function resolveDemoInputs(paths: string[], stamp: number): Promise<DemoInput[]> {
  const inputs: DemoInput[] = [];
  for (const [index, given] of paths.entries()) {
    const info = await stat(given).catch(() => undefined);
    if (!info) throw new DemoInputError(`no such file or folder: ${given}`);
    if (info.isFile()) {
      inputs.push({ file: given, name: `${stamp}-${index}-${path.basename(given)}` });
      continue;
    }
    if (!info.isDirectory()) throw new DemoInputError(`not a file or folder: ${given}`);
    const files = await filesUnder(given);
    if (files.length === 0) throw new DemoInputError(`no files to process in the folder ${given}`);
    for (const relative of files)
      inputs.push({
        file: path.join(given, relative),
        name: `${stamp}-${index}-${path.basename(given)}/${relative.split(path.sep).join("/")}`,
      });
  }
  return inputs;
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.relative(folder, path.join(entry.parentPath, entry.name));
    if (relative.split(path.sep).some((part) => part.startsWith("."))) continue;
    // A symlink counts when it points at a file; a link to a folder is not followed (no loops).
    const isFile =
      entry.isFile() ||
      (entry.isSymbolicLink() &&
        (await stat(path.join(folder, relative)).then(
          (target) => target.isFile(),
          () => false,
        )));
    if (isFile) files.push(relative);
  }
  return files.sort();
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
  /** The run token of the job's outputs (output-keys.ts), when it completed. */
  run: string | undefined;
}

const DEMO_FOLDER = "tenants/demo/users/demo/media/";

/**
 * The end-to-end demo: local stack up, worker up, sample (or given) files uploaded and their S3
 * events sent, wait until every job is terminal, print what happened. Exit code 0 only if every
 * job completed.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  // With --json, stdout carries the JSON document and nothing else: progress and logs go to stderr.
  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const logDestination = options.json ? "stderr" : "stdout";
  const stamp = Math.floor(Date.now() / 1000);
  let given: DemoInput[] = [];
  try {
    given = await resolveDemoInputs(options.files, stamp);
  } catch (error) {
    if (!(error instanceof DemoInputError)) throw error;
    process.stderr.write(`demo: ${error.message}\n`);
    return 2;
  }
  const work = await mkdtemp(path.join(os.tmpdir(), "mp-demo-"));
  log("starting the local stack (S3+SQS emulator in-process, redis-server child)…");
  const stack = await startLocalStack({ logger: createLogger("warn", {}, logDestination) });
  const config = loadConfig({
    ...process.env,
    ...stack.env,
    TEMP_DIR: path.join(work, "tmp"),
    METRICS_PORT: process.env.METRICS_PORT ?? "0",
    SQS_WAIT_TIME_SECONDS: "1",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const worker = await startWorker(config, {
    logger: createLogger(config.logLevel, { workerId: config.workerId }, logDestination),
  });
  // Interrupted, the worker stops (aborting its ffmpeg) before the stack it uses.
  const unregisterWorker = stopOnExit("demo worker", () => worker.stop(5_000));
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const objects = new ObjectStore(s3);
  try {
    const inputs =
      given.length > 0
        ? given
        : (await samplesWithProcessors(work, worker.processorNames, log)).map((file, index) => ({
            file,
            name: `${stamp}-${index}-${path.basename(file)}`,
          }));
    log(`worker up (metrics on :${worker.health.port}); uploading ${inputs.length} file(s)…`);
    const jobs: Array<{ id: string; key: string }> = [];
    for (const { file, name } of inputs) {
      const key = `${DEMO_FOLDER}${name}`;
      // Multipart above 8 MiB, as S3 clients upload large media.
      const size = await objects.upload({
        bucket: stack.bucket,
        key,
        body: { file },
        contentType: "application/octet-stream",
      });
      const eTag = (await objects.head(stack.bucket, key)).eTag ?? "";
      // The emulator does not emit bucket notifications: send the one S3 would have sent (a new sequencer per PUT).
      const sequencer = newSequencer();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: config.queue.queueUrl,
          MessageBody: buildS3Notification([{ bucket: stack.bucket, key, size, eTag, sequencer }]),
        }),
      );
      jobs.push({ id: jobIdFor({ bucket: stack.bucket, key, eTag, sequencer }), key });
    }
    const records = await waitForAll(
      worker.store.get.bind(worker.store),
      jobs.map((job) => job.id),
      options.timeoutMs,
      log,
    );
    const rows: DemoRow[] = jobs.map(({ id, key }) => toRow(id, key, records.get(id)));
    if (options.outDir) {
      const outDir = options.outDir;
      for (const row of rows) {
        const keys = await listOutputs(
          async (prefix) => (await objects.list(stack.bucket, prefix)).map((item) => item.key),
          row,
          config.storage.outputSegment,
        );
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
    log(
      allCompleted
        ? `all ${rows.length} jobs completed`
        : `${rows.filter((row) => row.status !== "completed").length} of ${rows.length} jobs did not complete`,
    );
    return allCompleted ? 0 : 1;
  } finally {
    unregisterWorker();
    await worker.stop(5_000);
    s3.destroy();
    sqs.destroy();
    await stack.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Samples of the media types this build can process (a processor not built yet is skipped, and said so). */
async function samplesWithProcessors(
  folder: string,
  processorNames: string[],
  log: (line: string) => void,
): Promise<string[]> {
  const samples = await generateSamples(folder);
  const skipped = samples.filter((sample) => !processorNames.includes(sample.kind));
  if (skipped.length > 0)
    log(
      `no ${[...new Set(skipped.map((sample) => sample.kind))].join("/")} processor in this build: skipping ${skipped.map((sample) => path.basename(sample.file)).join(", ")}`,
    );
  return samples.filter((sample) => processorNames.includes(sample.kind)).map((sample) => sample.file);
}

async function waitForAll(
  get: (id: string) => Promise<JobRecord | undefined>,
  ids: string[],
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Map<string, JobRecord>> {
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
  const result = record?.result as { outputs?: Array<{ key: string }>; manifestKey?: string; run?: string } | undefined;
  return {
    id,
    sourceKey: key,
    type: record?.type ?? "unknown",
    status: record?.status ?? "missing",
    errorCategory: record?.error?.category,
    errorCode: record?.error?.code,
    durationMs: record?.durationMs,
    outputs: [
      ...(result?.outputs ?? []).map((output) => output.key),
      ...(result?.manifestKey ? [result.manifestKey] : []),
    ],
    run: result?.run,
  };
}

function printTable(rows: DemoRow[], log: (line: string) => void): void {
  const lines = rows.map((row) => [
    row.id.slice(0, 12),
    row.sourceKey.slice(DEMO_FOLDER.length).replace(/^\d+-\d+-/, ""),
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
 * Every object a job's run wrote: its `<base>.<run>_*` files, its `<base>.<run>/` tree (HLS
 * segments are stored but not listed one by one in the job result, so the demo lists the bucket
 * to get a playable tree) and the manifest.
 */
async function listOutputs(
  list: (prefix: string) => Promise<string[]>,
  row: DemoRow,
  outputSegment: string,
): Promise<string[]> {
  if (!row.run) return [];
  const layout = outputLayout(row.sourceKey, outputSegment, row.run);
  const [files, tree] = runPrefixes(layout);
  return [...(await list(files)), ...(await list(tree)), ...(await list(manifestKey(layout)))];
}

async function downloadOutputs(
  outDir: string,
  keys: string[],
  fetchObject: (key: string) => Promise<Buffer>,
): Promise<void> {
  for (const key of keys) {
    const target = path.join(outDir, key);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, await fetchObject(key));
  }
}

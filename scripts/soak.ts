/**
 * `npm run soak`: two worker processes on the embedded local stack, a few hundred mixed uploads
 * (images, video, audio, PDFs when their processors are built, and hostile files) sent in bursts
 * while one worker is restarted and Redis blips once. Ends with a report; exits non-zero if any
 * job was lost or processed twice. Not part of `npm test`.
 *   SOAK_JOBS (default 240), SOAK_BURST (40), SOAK_TIMEOUT_SEC (900)
 * With SOAK_MINUTES set it runs the long soak instead (scripts/soak-long.ts): thousands of
 * jobs, a fault every few minutes, Redis memory back to its baseline after JOB_STATUS_TTL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { loadConfig } from "../src/config/config.ts";
import { startLocalStack } from "../src/dev/local-stack.ts";
import { isRunning, killOnExit } from "../src/dev/stop-on-exit.ts";
import { generateSamples } from "../src/dev/samples.ts";
import { buildS3Notification } from "../src/s3-events/s3-event.parser.ts";
import { isTerminal, jobIdFor, type JobRecord } from "../src/jobs/job.model.ts";
import { JobStore } from "../src/jobs/job.store.ts";
import { createRedisClient } from "../src/jobs/redis.client.ts";
import { createSqsClient } from "../src/queue/sqs.client.ts";
import { createS3Client } from "../src/storage/s3.client.ts";
import { bareETag } from "../src/s3-events/object-ref.ts";

if (process.env.SOAK_MINUTES) {
  const { runLongSoak } = await import("./soak-long.ts");
  process.exit(await runLongSoak());
}

const TOTAL = Number(process.env.SOAK_JOBS ?? 240);
const BURST = Number(process.env.SOAK_BURST ?? 40);
const TIMEOUT_MS = Number(process.env.SOAK_TIMEOUT_SEC ?? 900) * 1000;

process.env.AWS_ACCESS_KEY_ID ??= "local";
process.env.AWS_SECRET_ACCESS_KEY ??= "local";
const work = await mkdtemp(path.join(os.tmpdir(), "mp-soak-"));
const stack = await startLocalStack({ persistentRedis: true });
const env = {
  ...stack.env,
  TEMP_DIR: path.join(work, "tmp"),
  SQS_WAIT_TIME_SECONDS: "2",
  SQS_VISIBILITY_TIMEOUT: "60",
  RETRY_BACKOFF_BASE: "2",
  RETRY_BACKOFF_MAX: "10",
  WORKER_HEARTBEAT_INTERVAL: "2",
  MALLOC_ARENA_MAX: "2",
  LOG_LEVEL: "error",
};
const config = loadConfig(env);
const s3 = createS3Client(config.aws);
const sqs = createSqsClient(config.aws);
const redis = createRedisClient(config.redis.url, "soak");
redis.on("error", () => undefined);
const store = new JobStore(redis, {
  keyPrefix: config.redis.keyPrefix,
  statusTtlSec: 3600,
  leaseTtlMs: 60_000,
  workerId: "soak",
});

interface Worker {
  name: string;
  child: ChildProcess;
  peakRssKb: number;
}
const workers: Worker[] = [];
const spawnWorker = (name: string): Worker => {
  const child = killOnExit(
    spawn(process.execPath, ["src/cli.ts", "worker"], {
      env: { ...process.env, ...env, WORKER_ID: name, METRICS_PORT: "0" },
      stdio: ["ignore", "ignore", "inherit"],
    }),
  );
  const worker = { name, child, peakRssKb: 0 };
  workers.push(worker);
  return worker;
};
const sampleRss = async () => {
  for (const worker of workers) {
    if (!isRunning(worker.child) || !worker.child.pid) continue;
    const status = await readFile(`/proc/${worker.child.pid}/status`, "utf8").catch(() => "");
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    worker.peakRssKb = Math.max(worker.peakRssKb, hwm);
  }
};

const samples = (await generateSamples(work)).map((sample) => sample.file);
const hostile: Array<[string, Buffer]> = [
  ["bomb.jpg", Buffer.from("ffd8ffc2000b080fde0fde01011100ffd9", "hex")],
  ["playlist.mp4", Buffer.from("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")],
  ["lies.png", Buffer.from("not an image, whatever the name says")],
  ["truncated.pdf", Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog")],
];
const inputs: Array<[string, Buffer]> = [
  ...(await Promise.all(samples.map(async (file) => [path.basename(file), await readFile(file)] as [string, Buffer]))),
  ...hostile,
];

let first = spawnWorker("soak-a");
spawnWorker("soak-b");
const started = Date.now();
const ids: string[] = [];
const sentAt = new Map<string, number>();
let restarted = false;
let blipped = false;
for (let sent = 0; sent < TOTAL; sent += BURST) {
  const entries = [];
  for (let i = sent; i < Math.min(TOTAL, sent + BURST); i++) {
    const [name, body] = inputs[i % inputs.length]!;
    const key = `tenants/soak/users/u${i % 7}/media/${i}-${name}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
    const eTag = bareETag(put.ETag) ?? "";
    const id = jobIdFor({ bucket: stack.bucket, key, eTag });
    ids.push(id);
    sentAt.set(id, Date.now());
    entries.push({
      Id: String(i),
      MessageBody: buildS3Notification([{ bucket: stack.bucket, key, size: body.length, eTag }]),
    });
  }
  for (let i = 0; i < entries.length; i += 10)
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: config.queue.queueUrl, Entries: entries.slice(i, i + 10) }));
  await sleep(1_500);
  await sampleRss();
  if (!restarted && sent >= TOTAL / 3) {
    restarted = true;
    process.stdout.write("soak: restarting worker soak-a (SIGTERM)\n");
    first.child.kill("SIGTERM");
    await new Promise((resolve) => first.child.once("exit", resolve));
    first = spawnWorker("soak-a2");
  }
  if (!blipped && sent >= (2 * TOTAL) / 3) {
    blipped = true;
    process.stdout.write("soak: Redis blip (stopped for 3 s)\n");
    await stack.redis.stop();
    await sleep(3_000);
    await stack.redis.start();
  }
}

const records = new Map<string, JobRecord>();
while (Date.now() - started < TIMEOUT_MS) {
  await sampleRss();
  for (const id of ids) {
    if (records.has(id) && isTerminal(records.get(id)!.status)) continue;
    const record = await store.get(id).catch(() => undefined);
    if (record) records.set(id, record);
  }
  const terminal = ids.filter((id) => records.get(id) && isTerminal(records.get(id)!.status)).length;
  if (terminal === ids.length) break;
  process.stdout.write(`soak: ${terminal}/${ids.length} terminal\n`);
  await sleep(3_000);
}
await sampleRss();

const byStatus: Record<string, number> = {};
for (const id of ids) {
  const status = records.get(id)?.status ?? "missing";
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}
const outcomes: Record<string, number> = {};
ids.forEach((id, index) => {
  const record = records.get(id);
  const label = `${inputs[index % inputs.length]![0]} → ${record?.status ?? "missing"}${record?.error ? ` (${record.error.category}/${record.error.code})` : ""}`;
  outcomes[label] = (outcomes[label] ?? 0) + 1;
});
const lost = ids.filter((id) => !records.get(id) || !isTerminal(records.get(id)!.status)).length;
const twice = ids.filter(
  (id) => (records.get(id)?.timeline ?? []).filter((entry) => entry.event === "processed").length > 1,
).length;
const latencies = ids
  .map((id) => records.get(id))
  .filter((record): record is JobRecord => record?.finishedAt !== undefined)
  .map((record) => Date.parse(record.finishedAt!) - (sentAt.get(record.id) ?? Date.parse(record.createdAt)))
  .sort((a, b) => a - b);
const percentile = (p: number) =>
  latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! / 1000 : 0;
const dlq = await sqs.send(
  new GetQueueAttributesCommand({ QueueUrl: config.queue.dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
);
const report = [
  `# soak report (${new Date().toISOString()})`,
  "",
  `jobs sent: ${ids.length} (${inputs.length} distinct inputs: ${inputs.map(([name]) => name).join(", ")})`,
  `terminal by status: ${JSON.stringify(byStatus)}`,
  `outcome per input: ${Object.entries(outcomes)
    .map(([label, count]) => `${label} ×${count}`)
    .join("; ")}`,
  `lost (not terminal): ${lost}`,
  `processed twice: ${twice}`,
  `DLQ messages: ${dlq.Attributes?.ApproximateNumberOfMessages ?? "?"}`,
  `job latency p50 ${percentile(50).toFixed(1)} s, p95 ${percentile(95).toFixed(1)} s (event sent → job finished, queueing included)`,
  `peak RSS per worker: ${workers.map((worker) => `${worker.name} ${(worker.peakRssKb / 1024).toFixed(0)} MiB`).join(", ")}`,
  `wall time: ${((Date.now() - started) / 1000).toFixed(0)} s; events: worker soak-a restarted once, Redis stopped once for 3 s`,
  "",
].join("\n");
process.stdout.write(`\n${report}`);
await writeFile(path.join("bench", "soak-report.md"), report).catch(() => undefined);

for (const worker of workers) if (isRunning(worker.child)) worker.child.kill("SIGTERM");
await Promise.all(
  workers.map((worker) =>
    isRunning(worker.child) ? new Promise((resolve) => worker.child.once("exit", resolve)) : undefined,
  ),
);
redis.disconnect();
s3.destroy();
sqs.destroy();
await stack.stop();
await rm(work, { recursive: true, force: true });
process.exit(lost === 0 && twice === 0 ? 0 : 1);

/**
 * The long soak (`SOAK_MINUTES=30 npm run soak`): two worker processes on the embedded local
 * stack get a steady stream of small mixed uploads (images, video, audio, PDFs and hostile
 * files; SOAK_JOBS in total, 10,000 by default) for SOAK_MINUTES, while a fault is injected
 * every SOAK_FAULT_EVERY_SEC (180) in turn: a worker SIGKILLed (and replaced), Redis restarted,
 * a burst of S3 503s (through a fault proxy between the workers and the emulator), a storm of
 * duplicate deliveries. Every job is followed until it is terminal — the drain after the last
 * send waits as long as jobs keep finishing (SOAK_DRAIN_STALL_SEC without one ends it) — (its objects are then
 * deleted, so the in-process emulator stays small); then the soak waits out JOB_STATUS_TTL
 * (SOAK_TTL_SEC, 300) and the sweep, and checks that Redis is back to its starting size.
 * Reports lost (must be 0), completed twice (must be 0), work redone after a crash, the DLQ,
 * latency p50/p95 (event sent → job finished), Redis memory at the start, at its peak and after
 * the TTL, and each worker's peak RSS. Writes bench/soak-report-long.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import sharp from "sharp";
import { loadConfig } from "../src/config/config.ts";
import { startLocalStack } from "../src/dev/local-stack.ts";
import { isRunning, killOnExit } from "../src/dev/stop-on-exit.ts";
import { samplePdf } from "../src/dev/samples.ts";
import { buildS3Notification } from "../src/s3-events/s3-event.parser.ts";
import { isTerminal, jobIdFor, type JobStatus } from "../src/jobs/job.model.ts";
import { JobStore } from "../src/jobs/job.store.ts";
import { createRedisClient } from "../src/jobs/redis.client.ts";
import { runFfmpeg } from "../src/media/ffmpeg.runner.ts";
import { createSqsClient } from "../src/queue/sqs.client.ts";
import { createS3Client } from "../src/storage/s3.client.ts";
import { startFaultProxy } from "../tests/helpers/fault-proxy.ts";
import { bareETag } from "../src/s3-events/object-ref.ts";

interface Tracked {
  id: string;
  input: string;
  key: string;
  eTag: string;
  folder: string;
  sentAt: number;
  status?: JobStatus;
  finishedAt?: number;
  errorCode?: string;
  completedEntries?: number;
  processedEntries?: number;
  cleaned?: boolean;
}

interface SoakWorker {
  name: string;
  child: ChildProcess;
  peakRssKb: number;
}

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function runLongSoak(): Promise<number> {
  const minutes = int("SOAK_MINUTES", 30);
  const totalJobs = int("SOAK_JOBS", 10_000);
  const faultEverySec = int("SOAK_FAULT_EVERY_SEC", 180);
  const ttlSec = Math.max(60, int("SOAK_TTL_SEC", 300));
  const drainStallSec = int("SOAK_DRAIN_STALL_SEC", 300);
  const log = (line: string) => process.stdout.write(`soak: ${line}\n`);

  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  const work = await mkdtemp(path.join(os.tmpdir(), "mp-soak-long-"));
  const stack = await startLocalStack({ persistentRedis: true, maxReceiveCount: 5 });
  const proxy = await startFaultProxy(stack.env.AWS_ENDPOINT_URL!);
  const workerEnv = {
    ...stack.env,
    AWS_ENDPOINT_URL: proxy.endpoint,
    TEMP_DIR: path.join(work, "tmp"),
    SQS_WAIT_TIME_SECONDS: "2",
    SQS_VISIBILITY_TIMEOUT: "60",
    JOB_LEASE_TTL: "30",
    RETRY_BACKOFF_BASE: "5",
    RETRY_BACKOFF_MAX: "30",
    MAX_PROCESSING_RETRIES: "5",
    WORKER_HEARTBEAT_INTERVAL: "2",
    JOB_STATUS_TTL: String(ttlSec),
    JOB_SWEEP_INTERVAL: "10",
    MEDIA_PROCESSOR_CONCURRENCY: "2",
    VIDEO_HLS_RUNGS: "240:300k:64k",
    MALLOC_ARENA_MAX: "2",
    LOG_LEVEL: "error",
  };
  const config = loadConfig({ ...stack.env, JOB_STATUS_TTL: String(ttlSec) });
  const s3 = createS3Client(config.aws);
  const sqs = createSqsClient(config.aws);
  const redis = createRedisClient(config.redis.url, "soak-long");
  redis.on("error", () => undefined);
  const store = new JobStore(redis, {
    keyPrefix: config.redis.keyPrefix,
    statusTtlSec: ttlSec,
    leaseTtlMs: 30_000,
    workerId: "soak",
  });
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);

  const workers: SoakWorker[] = [];
  let workerCount = 0;
  const spawnWorker = (): SoakWorker => {
    const name = `soak-${++workerCount}`;
    const child = killOnExit(
      spawn(process.execPath, ["src/cli.ts", "worker"], {
        env: { ...process.env, ...workerEnv, WORKER_ID: name, METRICS_PORT: "0" },
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
      worker.peakRssKb = Math.max(worker.peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    }
  };

  const inputs = await smallInputs(work);
  const weighted = inputs.flatMap((input) => new Array<[string, Buffer]>(input.weight).fill([input.name, input.body]));
  spawnWorker();
  spawnWorker();
  // The baseline is the idle fleet: both workers registered, no job yet.
  for (let attempt = 0; attempt < 300 && (await redis.zcard(`${config.redis.keyPrefix}workers`)) < 2; attempt += 1)
    await sleep(200);
  const baseline = { memory: await usedMemory(), keys: await redis.dbsize() };
  let peakMemory = baseline.memory;
  log(
    `${totalJobs} jobs over ${minutes} min, a fault every ${faultEverySec} s, JOB_STATUS_TTL ${ttlSec} s; Redis at start ${mib(baseline.memory)} (${baseline.keys} keys)`,
  );

  const tracked: Tracked[] = [];
  const faults: string[] = [];
  const started = Date.now();
  const sendUntil = started + minutes * 60_000;
  let stopSending = false;

  const sender = (async () => {
    let sent = 0;
    while (!stopSending && sent < totalJobs) {
      const due = Math.min(totalJobs, Math.ceil(((Date.now() - started) / (minutes * 60_000)) * totalJobs));
      const batch: Tracked[] = [];
      while (sent < due && batch.length < 50) {
        const [name, body] = weighted[sent % weighted.length]!;
        const folder = `tenants/soak/users/u${sent % 9}/media/${sent}/`;
        const key = `${folder}${name}`;
        const put = await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
        const eTag = bareETag(put.ETag) ?? "";
        batch.push({ id: jobIdFor({ bucket: stack.bucket, key, eTag }), input: name, key, eTag, folder, sentAt: 0 });
        sent += 1;
      }
      for (let index = 0; index < batch.length; index += 10) {
        const chunk = batch.slice(index, index + 10);
        const now = Date.now();
        for (const job of chunk) job.sentAt = now;
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: config.queue.queueUrl,
            Entries: chunk.map((job, entry) => ({
              Id: String(entry),
              MessageBody: buildS3Notification([{ bucket: stack.bucket, key: job.key, eTag: job.eTag }]),
            })),
          }),
        );
      }
      tracked.push(...batch);
      if (Date.now() > sendUntil) break;
      await sleep(500);
    }
    log(`sent ${sent} jobs`);
  })();

  const faultKinds = ["worker SIGKILL", "Redis restart", "S3 503 burst", "duplicate-delivery storm"] as const;
  let nextFault = 0;
  const injectFault = async () => {
    const kind = faultKinds[nextFault % faultKinds.length]!;
    nextFault += 1;
    const at = `${Math.round((Date.now() - started) / 1000)} s`;
    if (kind === "worker SIGKILL") {
      const victim = workers.find((worker) => isRunning(worker.child))!;
      victim.child.kill("SIGKILL");
      await new Promise((resolve) => victim.child.once("exit", resolve));
      spawnWorker();
      faults.push(`${at}: ${kind} (${victim.name}, replaced)`);
    } else if (kind === "Redis restart") {
      await stack.redis.stop();
      await sleep(3_000);
      await stack.redis.start();
      faults.push(`${at}: ${kind} (down 3 s)`);
    } else if (kind === "S3 503 burst") {
      proxy.setRule(() => ({ status: 503, code: "SlowDown" }));
      await sleep(15_000);
      proxy.setRule(() => "pass");
      faults.push(`${at}: ${kind} (15 s of 503 SlowDown on every S3 call)`);
    } else {
      const recent = tracked.slice(-200);
      for (let copy = 0; copy < 3; copy += 1) {
        for (let index = 0; index < recent.length; index += 10) {
          await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: config.queue.queueUrl,
              Entries: recent.slice(index, index + 10).map((job, entry) => ({
                Id: String(entry),
                MessageBody: buildS3Notification([{ bucket: stack.bucket, key: job.key, eTag: job.eTag }]),
              })),
            }),
          );
        }
      }
      faults.push(`${at}: ${kind} (the last ${recent.length} events sent 3 more times each)`);
    }
    log(`fault: ${faults.at(-1)}`);
  };

  /** Reads the jobs not yet seen terminal; a terminal one is recorded once and its objects deleted. */
  const check = async () => {
    const open = tracked.filter((job) => !job.status || !isTerminal(job.status));
    for (let index = 0; index < open.length; index += 500) {
      const chunk = open.slice(index, index + 500);
      const summaries = await Promise.all(chunk.map((job) => store.summary(job.id).catch(() => undefined)));
      for (const [position, summary] of summaries.entries()) {
        if (!summary || !isTerminal(summary.status)) continue;
        const job = chunk[position]!;
        const record = await store.get(job.id).catch(() => undefined);
        if (!record) continue;
        job.status = record.status;
        job.finishedAt = record.finishedAt ? Date.parse(record.finishedAt) : Date.now();
        job.errorCode = record.error?.code;
        job.completedEntries = record.timeline.filter((entry) => entry.event === "completed").length;
        job.processedEntries = record.timeline.filter((entry) => entry.event === "processed").length;
      }
    }
    for (const job of tracked.filter((candidate) => candidate.status && !candidate.cleaned)) {
      job.cleaned = true;
      await deleteFolder(s3, stack.bucket, job.folder).catch(() => (job.cleaned = false));
    }
    peakMemory = Math.max(peakMemory, await usedMemory().catch(() => 0));
    await sampleRss();
  };

  let lastFault = started;
  let lastLog = started;
  while (Date.now() < sendUntil) {
    await sleep(3_000);
    await check().catch((error: unknown) => log(`check failed (${(error as Error).message}); retrying`));
    if (Date.now() - lastFault >= faultEverySec * 1000) {
      lastFault = Date.now();
      await injectFault().catch((error: unknown) => log(`fault failed: ${(error as Error).message}`));
    }
    if (Date.now() - lastLog >= 60_000) {
      lastLog = Date.now();
      const done = tracked.filter((job) => job.status).length;
      log(
        `${Math.round((Date.now() - started) / 60_000)} min: ${tracked.length} sent, ${done} terminal, Redis ${mib(await usedMemory().catch(() => 0))}`,
      );
    }
  }
  stopSending = true;
  await sender;
  // Drain: wait while jobs keep finishing; stop only after SOAK_DRAIN_STALL_SEC without any (a
  // backlog bigger than the machine can work off in the soak's minutes is not a lost job).
  let lastProgress = Date.now();
  let terminalSeen = tracked.filter((job) => job.status).length;
  while (tracked.some((job) => !job.status) && Date.now() - lastProgress < drainStallSec * 1000) {
    await sleep(3_000);
    await check().catch(() => undefined);
    const terminal = tracked.filter((job) => job.status).length;
    if (terminal > terminalSeen) {
      terminalSeen = terminal;
      lastProgress = Date.now();
    }
    if (Date.now() - lastLog >= 60_000) {
      lastLog = Date.now();
      log(`draining: ${terminal} of ${tracked.length} terminal`);
    }
  }
  const wallSec = (Date.now() - started) / 1000;
  log(`all terminal after ${Math.round(wallSec)} s; waiting out JOB_STATUS_TTL (${ttlSec} s) and the sweep`);
  await sleep((ttlSec + 25) * 1000);
  const after = { memory: await usedMemory(), keys: await redis.dbsize() };
  // What is left must be per-minute/hour counters (they expire by themselves) and the worker registry: no job's key.
  const leftKeys = (await redis.keys(`${config.redis.keyPrefix}*`)).map((key) =>
    key.slice(config.redis.keyPrefix.length),
  );
  const jobKeysLeft = leftKeys.filter((key) => /^(job:|lease:|idx:|expiry$)/.test(key));
  const otherKeys = [
    ...new Set(
      leftKeys
        .filter((key) => !jobKeysLeft.includes(key))
        .map((key) => key.replace(/:\d+$/, ":*").replace(/^worker:.*/, "worker:*")),
    ),
  ].sort();

  const byStatus: Record<string, number> = {};
  const byInput: Record<string, number> = {};
  for (const job of tracked) {
    byStatus[job.status ?? "lost"] = (byStatus[job.status ?? "lost"] ?? 0) + 1;
    const label = `${job.input} → ${job.status ?? "lost"}${job.errorCode ? ` (${job.errorCode})` : ""}`;
    byInput[label] = (byInput[label] ?? 0) + 1;
  }
  const lost = tracked.filter((job) => !job.status).length;
  const completedTwice = tracked.filter((job) => (job.completedEntries ?? 0) > 1).length;
  const redone = tracked.filter((job) => (job.processedEntries ?? 0) > 1).length;
  const latencies = tracked
    .filter((job) => job.finishedAt)
    .map((job) => (job.finishedAt! - job.sentAt) / 1000)
    .sort((a, b) => a - b);
  const percentile = (p: number) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]! : 0;
  const dlq = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: config.queue.dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  const report = [
    `# long soak report (${new Date().toISOString()})`,
    "",
    `- ${tracked.length} jobs sent over ${minutes} min (${inputs.map((input) => `${input.name} ×${input.weight}`).join(", ")} per ${weighted.length}), 2 worker processes × concurrency 2 on ${os.availableParallelism()} CPUs (load at end ${os
      .loadavg()
      .map((value) => value.toFixed(1))
      .join(" ")})`,
    `- faults (${faults.length}): ${faults.join("; ")}`,
    `- terminal by status: ${JSON.stringify(byStatus)}`,
    `- outcome per input: ${Object.entries(byInput)
      .sort()
      .map(([label, count]) => `${label} ×${count}`)
      .join("; ")}`,
    `- **lost (never terminal): ${lost}**; **completed twice: ${completedTwice}**; work redone after a crash or lost lease (two \`processed\` entries, one outcome): ${redone}`,
    `- DLQ messages at the end: ${dlq.Attributes?.ApproximateNumberOfMessages ?? "?"}`,
    `- job latency (event sent → job finished, queueing included): p50 ${percentile(50).toFixed(1)} s, p95 ${percentile(95).toFixed(1)} s`,
    `- Redis used_memory: start ${mib(baseline.memory)} (${baseline.keys} keys), peak ${mib(peakMemory)}, after the TTL ${mib(after.memory)} (${after.keys} keys); **job keys left after the TTL: ${jobKeysLeft.length}** (what remains: ${otherKeys.join(", ")} — counters that expire by themselves and the worker registry)`,
    `- peak RSS per worker: ${workers.map((worker) => `${worker.name} ${(worker.peakRssKb / 1024).toFixed(0)} MiB`).join(", ")}`,
    `- wall time ${Math.round(wallSec)} s to the last terminal job (${(tracked.filter((job) => job.status).length / wallSec).toFixed(2)} jobs/s), then ${ttlSec + 25} s for the TTL and the sweep`,
    "",
  ].join("\n");
  process.stdout.write(`\n${report}`);
  await writeFile(path.join("bench", "soak-report-long.md"), report).catch(() => undefined);

  for (const worker of workers) if (isRunning(worker.child)) worker.child.kill("SIGTERM");
  await Promise.all(
    workers.map((worker) =>
      isRunning(worker.child) ? new Promise((resolve) => worker.child.once("exit", resolve)) : undefined,
    ),
  );
  redis.disconnect();
  s3.destroy();
  sqs.destroy();
  await proxy.close();
  await stack.stop();
  await rm(work, { recursive: true, force: true });
  return lost === 0 && completedTwice === 0 && jobKeysLeft.length === 0 ? 0 : 1;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function deleteFolder(s3: ReturnType<typeof createS3Client>, bucket: string, prefix: string): Promise<void> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const keys = (listed.Contents ?? []).map((object) => object.Key!).filter(Boolean);
  if (keys.length > 0)
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
}

/** Small inputs of every kind, so thousands of jobs fit in half an hour on two cores; weights set the mix. */
async function smallInputs(folder: string): Promise<Array<{ name: string; body: Buffer; weight: number }>> {
  const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#5577aa" } })
    .composite([
      { input: Buffer.from('<svg width="640" height="480"><circle cx="320" cy="240" r="120" fill="#ffd56b"/></svg>') },
    ])
    .jpeg()
    .toBuffer();
  const logo = await sharp({
    create: { width: 256, height: 256, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
  })
    .composite([
      {
        input: Buffer.from(
          '<svg width="256" height="256"><rect x="48" y="48" width="160" height="160" fill="#8e44ad"/></svg>',
        ),
      },
    ])
    .png()
    .toBuffer();
  const clip = path.join(folder, "clip.mp4");
  await runFfmpeg({
    args: [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=10:duration=1",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=1",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-shortest",
      "-y",
      clip,
    ],
    trustedInputs: true,
  });
  const tone = path.join(folder, "tone.wav");
  await runFfmpeg({
    args: ["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ac", "2", "-y", tone],
    trustedInputs: true,
  });
  return [
    { name: "photo.jpg", body: photo, weight: 8 },
    { name: "logo.png", body: logo, weight: 6 },
    { name: "notes.pdf", body: Buffer.from(samplePdf(["Soak page one"])), weight: 2 },
    { name: "tone.wav", body: await readFile(tone), weight: 2 },
    { name: "clip.mp4", body: await readFile(clip), weight: 1 },
    { name: "bomb.jpg", body: Buffer.from("ffd8ffc2000b080fde0fde01011100ffd9", "hex"), weight: 1 },
    {
      name: "playlist.mp4",
      body: Buffer.from("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"),
      weight: 1,
    },
    { name: "lies.png", body: Buffer.from("not an image, whatever the name says"), weight: 1 },
  ];
}

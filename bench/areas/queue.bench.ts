import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { rotating, round, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { REDIS_COUNTER_PRELOAD, snapshotClientCounts } from "../lib/redis-counter.ts";
import { describePerJob, diffCounts, parseCommandStats, totalCount, type CommandCounts } from "../lib/redis-stats.ts";
import type { AreaReport } from "../lib/report.ts";
import { CONSUMER_STOP_SETTLE_MS, type BenchStack, type UploadedInput } from "../lib/stack.ts";
import { median, perSecond, ratio } from "../lib/stats.ts";
import { describeStepCosts, stepCosts } from "../lib/timeline.ts";
import type { BareConsumerRequest } from "../raw/bare-consumer.ts";
import type { RawRunResult } from "../raw/raw-common.ts";

/**
 * Queue overhead: M small plain-text uploads (detected as `unknown`) through the full consumer
 * with the no-op processor (receive → claim in Redis → download → detect → timeline → manifest →
 * complete → delete), against a bare sqs-consumer receive/delete loop on the same emulator, at
 * the same batch size and concurrency. Both start on a queue already holding all M messages and
 * are timed from their first receive to their last job/delete. Redis traffic is counted on the
 * worker's side by a preloaded counter (commands and socket writes) and on the server by
 * INFO commandstats.
 */
const NOOP_ENV = { PROCESSOR_MODULES: "./bench/noop.processor.ts" };

export async function benchQueue(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const { messages, concurrency, roundTripJobs } = settings.queue;
  const bareRates: number[] = [];
  const bareS3Rates: number[] = [];
  const cpuMs = { pipeline: [] as number[], bare: [] as number[], bareS3: [] as number[] };
  const pipelineRates: number[] = [];
  const clientCommandsPerJob: number[] = [];
  const writesPerJob: number[] = [];
  const serverCommandsPerJob: number[] = [];
  let lastClientCommands: CommandCounts = {};
  let lastServerCommands: CommandCounts = {};
  let lastJobs: JobRecord[] = [];

  const bare = async (run: number, s3Work: boolean): Promise<RawRunResult> => {
    await stack.sendS3Events(
      s3Work ? await uploadTexts(stack, messages, `bare-s3-r${run}`) : fakeInputs(messages, `bare-r${run}`),
    );
    const result = await runBareConsumer(context, {
      queueUrl: stack.config.queue.queueUrl,
      endpoint: stack.config.aws.endpointUrl!,
      region: stack.config.aws.region,
      batchSize: Math.min(10, concurrency),
      expected: messages,
      s3Work,
    });
    await sleep(CONSUMER_STOP_SETTLE_MS);
    if (s3Work) await stack.clearObjects();
    return result;
  };
  const pipeline = async (run: number, jobs: number, workerConcurrency: number) => {
    const uploaded = await uploadTexts(stack, jobs, `noop-r${run}`);
    const countFile = path.join(context.workDir, `redis-counts-${run}.json`);
    const workers = await startBenchWorkers(context, `queue-${run}`, {
      concurrency: workerConcurrency,
      env: { ...NOOP_ENV, SQS_BATCH_SIZE: String(Math.min(10, workerConcurrency)), BENCH_REDIS_COUNT_FILE: countFile },
      nodeArgs: ["--import", REDIS_COUNTER_PRELOAD],
    });
    const worker = workers.processes[0]!;
    let counts;
    let serverBefore: CommandCounts;
    let serverAfter: CommandCounts;
    let cpuBefore = 0;
    let workerCpuSec = 0;
    try {
      // Snapshots after start-up (ready checks, registry) and before the first message: the window holds only job traffic.
      const before = await snapshotClientCounts(worker, countFile);
      serverBefore = parseCommandStats(await stack.redis.info("commandstats"));
      cpuBefore = await workers.cpuSeconds();
      // Sending (thousands/s) outruns the no-op pipeline, so the worker soon works from a full queue.
      await stack.sendS3Events(uploaded);
      await stack.waitForEmptyQueue(10 * 60_000, 100);
      workerCpuSec = (await workers.cpuSeconds()) - cpuBefore;
      const after = await snapshotClientCounts(worker, countFile);
      serverAfter = parseCommandStats(await stack.redis.info("commandstats"));
      counts = { commands: diffCounts(before.commands, after.commands), writes: after.writes - before.writes };
    } finally {
      await workers.stop();
    }
    const records = await Promise.all(uploaded.map(async (input) => (await stack.store.get(input.jobId))!));
    const failed = records.filter((record) => record?.status !== "completed");
    if (failed.length > 0)
      throw new Error(
        `${failed.length} no-op job(s) did not complete: ${JSON.stringify(failed[0]?.error ?? failed[0]?.status)}`,
      );
    await stack.clearObjects();
    const firstClaim = Math.min(...records.map((record) => Date.parse(record.createdAt)));
    const lastFinish = Math.max(...records.map((record) => Date.parse(record.finishedAt!)));
    return {
      wallMs: lastFinish - firstClaim,
      records,
      clientCommands: counts.commands,
      writes: counts.writes,
      workerCpuSec,
      // The harness's own INFO calls and the worker's readiness pings are not job traffic.
      serverCommands: diffCounts(serverBefore, serverAfter, [
        "info",
        "ping",
        "client|setname",
        "client|setinfo",
        "select",
        "info|commandstats",
      ]),
    };
  };

  context.log("queue: warm-up");
  await pipeline(0, Math.min(100, messages), concurrency);
  await bare(0, false);
  await bare(0, true);
  for (let run = 1; run <= settings.runs; run += 1) {
    let ours: Awaited<ReturnType<typeof pipeline>> | undefined;
    const [, theirs, theirsWithS3] = await rotating<RawRunResult | undefined>(run, [
      async () => {
        ours = await pipeline(run, messages, concurrency);
        return undefined;
      },
      () => bare(run, false),
      () => bare(run, true),
    ]);
    if (!ours || !theirs || !theirsWithS3) throw new Error("a queue side did not run");
    pipelineRates.push(perSecond(messages, ours.wallMs));
    bareRates.push(perSecond(messages, theirs.wallMs));
    bareS3Rates.push(perSecond(messages, theirsWithS3.wallMs));
    cpuMs.pipeline.push((ours.workerCpuSec * 1000) / messages);
    cpuMs.bare.push((theirs.cpuSec * 1000) / messages);
    cpuMs.bareS3.push((theirsWithS3.cpuSec * 1000) / messages);
    clientCommandsPerJob.push(totalCount(ours.clientCommands) / messages);
    writesPerJob.push(ours.writes / messages);
    serverCommandsPerJob.push(totalCount(ours.serverCommands) / messages);
    lastClientCommands = ours.clientCommands;
    lastServerCommands = ours.serverCommands;
    lastJobs = ours.records;
    context.log(
      `queue run ${run}: pipeline ${pipelineRates.at(-1)!.toFixed(0)} msg/s, bare ${bareRates.at(-1)!.toFixed(0)} msg/s, bare + S3 ${bareS3Rates.at(-1)!.toFixed(0)} msg/s`,
    );
  }
  context.log("queue: Redis round trips at concurrency 1");
  const single = await pipeline(settings.runs + 1, roundTripJobs, 1);
  const costs = stepCosts(lastJobs);
  const perJobMs = lastJobs.map((job) => Date.parse(job.finishedAt!) - Date.parse(job.createdAt));

  return {
    title: "Queue overhead (no-op processor)",
    setup: [
      `${messages} messages, each an S3 notification of a small plain-text object; sent in batches of 10; the bare loop starts on a queue already holding all of them, the worker is already waiting (sending outruns it)`,
      `pipeline: a worker process with the no-op plug-in (bench/noop.processor.ts), MEDIA_PROCESSOR_CONCURRENCY=${concurrency}, SQS_BATCH_SIZE=${Math.min(10, concurrency)}; timed first claim → last finishedAt`,
      `bare: sqs-consumer with batchSize ${Math.min(10, concurrency)} and a handler returning the message (one DeleteMessage each); timed first receive → last delete`,
      "bare + S3 I/O: the same loop whose handler also downloads the object to a temp file and PUTs a small JSON result (what any glue script must do)",
      "Redis counts: client side by a preload in the worker (bench/lib/redis-counter.preload.ts: commands through Redis#sendCommand, writes to the Redis socket = round trips with auto-pipelining), snapshotted by SIGUSR2 around the run; server side by INFO commandstats (includes the commands run inside Lua scripts)",
    ],
    figures: [
      { label: "bare sqs-consumer receive/delete", unit: "msg/s", runs: bareRates, digits: 0 },
      { label: "bare loop + the same S3 I/O (GET object, PUT result)", unit: "msg/s", runs: bareS3Rates, digits: 0 },
      { label: "pipeline with the no-op processor", unit: "msg/s", runs: pipelineRates, digits: 0 },
      { label: "CPU per message, bare loop", unit: "cpu-ms", runs: cpuMs.bare },
      { label: "CPU per message, bare loop + S3 I/O", unit: "cpu-ms", runs: cpuMs.bareS3 },
      { label: "CPU per message, worker (no-op job)", unit: "cpu-ms", runs: cpuMs.pipeline },
      {
        label: `Redis commands sent per job (client, concurrency ${concurrency})`,
        unit: "commands",
        runs: clientCommandsPerJob,
      },
      {
        label: `Redis round trips (socket writes) per job (concurrency ${concurrency})`,
        unit: "writes",
        runs: writesPerJob,
      },
      {
        label: "Redis round trips (socket writes) per job (concurrency 1)",
        unit: "writes",
        runs: [single.writes / roundTripJobs],
      },
      {
        label: "Redis commands executed per job (server, incl. inside scripts)",
        unit: "commands",
        runs: serverCommandsPerJob,
      },
    ],
    ratios: [
      {
        label: "no-op pipeline / bare consume loop",
        runs: pipelineRates.map((rate, index) => ratio(rate, bareRates[index]!)),
        target: { min: 0.5, text: "≥ 0.50×" },
      },
      {
        label: "no-op pipeline / bare loop + same S3 I/O",
        runs: pipelineRates.map((rate, index) => ratio(rate, bareS3Rates[index]!)),
      },
      {
        label: "bare loop + S3 I/O / bare consume loop (the S3 I/O alone)",
        runs: bareS3Rates.map((rate, index) => ratio(rate, bareRates[index]!)),
      },
    ],
    notes: [
      `Commands per job sent by the worker (last run): ${describePerJob(lastClientCommands, messages)}; at concurrency 1: ${describePerJob(single.clientCommands, roundTripJobs)}.`,
      `Commands per job executed by Redis (last run, script internals included): ${describePerJob(lastServerCommands, messages)}.`,
      `Per job, claim → finished: median ${round(median(perJobMs), 1)} ms at concurrency ${concurrency}. Mean step costs (last run): ${describeStepCosts(costs, 0.2)}.`,
    ],
  };
}

/** Inputs for the bare loop: it never reads the objects, so only the notifications matter. */
function fakeInputs(count: number, tag: string): UploadedInput[] {
  return Array.from({ length: count }, (_, index) => ({
    key: `tenants/bench/users/u1/media/${tag}-${index}.txt`,
    eTag: `${tag}-${index}`,
    bytes: 20,
    jobId: "",
  }));
}

async function uploadTexts(stack: BenchStack, count: number, tag: string): Promise<UploadedInput[]> {
  const uploaded: UploadedInput[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const index = next++;
        uploaded[index] = await stack.uploadBody(
          `tenants/bench/users/u1/media/${tag}-${index}.txt`,
          Buffer.from(`no-op benchmark message ${tag} ${index}\n`),
        );
      }
    }),
  );
  return uploaded;
}

async function runBareConsumer(context: BenchContext, request: BareConsumerRequest): Promise<RawRunResult> {
  const requestFile = path.join(context.workDir, "bare-consumer.json");
  await writeFile(requestFile, JSON.stringify(request));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, "../raw/bare-consumer.ts"), requestFile], {
      env: { PATH: process.env.PATH ?? "", MALLOC_ARENA_MAX: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !last.startsWith("{")) reject(new Error(`bare consumer exited with ${code}: ${stderr.trim()}`));
      else resolve(JSON.parse(last) as RawRunResult);
    });
  });
}

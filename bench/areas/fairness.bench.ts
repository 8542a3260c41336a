import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand } from "@aws-sdk/client-sqs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { photoJpegs, videoClip } from "../lib/inputs.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";
import { CONSUMER_STOP_SETTLE_MS, type UploadedInput } from "../lib/stack.ts";
import { allCpus, pinProcesses } from "../lib/pin.ts";
import type { WorkerGroup } from "../lib/workers.ts";

/**
 * Fairness (issue 16): tenant A floods the fleet with videos, then A sends a burst of images and
 * tenant B a trickle of images. What B waits (event sent → job started) is measured on the same
 * three job slots laid out three ways, in one run:
 *   one lane      one worker at concurrency 3 on one queue, no fair share (the design before lanes);
 *   lanes         a quick worker (image, document, audio; 2 slots) and a video worker (1 slot), one queue each;
 *   lanes + fair, probes   the same with FAIR_SHARE on, no backlog queue: a flood deeper than the look-ahead is probed through;
 *   lanes + fair  the same with a backlog queue for the quick lane (FAIR_SHARE_BACKLOG_QUEUE_URLS): A's surplus
 *                 waits there, the lane's queue holds only what arrived since, and B's upload is the next one received.
 * and against B's trickle on an idle fleet (lanes + fair, nothing else queued). A's video throughput
 * in the flood is compared with A's flood alone on the same lanes.
 *
 * Lanes stand for separate pools of machines, so on lanes the quick worker is pinned to CPU 0 and
 * the video worker to CPU 1 (taskset); the one-lane worker gets both. The S3+SQS emulator (this
 * process) and redis-server stay on CPU 0 for the whole area: in production they are remote,
 * and left free the scheduler moved them onto the video CPU whenever the quick worker filled
 * CPU 0, which charged their work to A's videos. A's solo run is taken twice (before and after
 * the flood layouts) because one encode alone varies by about ±13 % here. B's trickle is a trickle:
 * one image every three times an image job takes on this machine (from the warm-up), at least
 * the configured interval, so that B alone never queues behind itself and what B waits for is
 * A's work.
 */
const LANES = "quick=image,document,audio;video=video";

type Layout = "one-lane" | "lanes" | "lanes-fair-probes" | "lanes-fair";
const LAYOUT_NAMES: Record<Layout, string> = {
  "one-lane": "one lane, no fair share",
  lanes: "lanes, no fair share",
  "lanes-fair-probes": "lanes + fair share, no backlog (probes)",
  "lanes-fair": "lanes + fair share",
};
const LAYOUTS = ["one-lane", "lanes", "lanes-fair-probes", "lanes-fair"] as const;

interface Load {
  videos: boolean;
  aBurst: boolean;
  bTrickle: boolean;
}

interface ScenarioResult {
  bWaitsMs: number[];
  aImageWaitsMs: number[];
  /** Videos completed per minute from the first video's start to the last one's finish. */
  videosPerMin?: number;
  /** How many of A's messages were deferred by the fair share (timeline entries). */
  deferred: number;
  /** How many were put behind the queue as probes past the look-ahead (timeline entries `requeued`). */
  probed: number;
  /** How many went to the lane's backlog queue past a full look-ahead (timeline entries `backlogged`). */
  backlogged: number;
  /** How long each of B's jobs ran (started → finished). */
  bRunMs: number[];
}

export async function benchFairness(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const plan = settings.fairness;
  const videos = await Promise.all(
    Array.from({ length: plan.videos }, (_, index) =>
      videoClip(settings.inputDir, plan.videoSec, { width: 1280, height: 720, variant: index + 1 }),
    ),
  );
  const images = (await photoJpegs(settings.inputDir, 3, ...plan.imageSize)).map((input) => input.file);
  const videoQueueUrl = await createLaneQueue(context, "media-video-lane");
  const backlogQueueUrl = await createLaneQueue(context, "media-quick-backlog");
  const pinned = os.availableParallelism() >= 2;
  if (pinned) await pinProcesses([process.pid, stack.local.redis.pid], "0");
  try {
    return await measureFairness(context, { videos, images, videoQueueUrl, backlogQueueUrl, pinned });
  } finally {
    if (pinned) await pinProcesses([process.pid, stack.local.redis.pid], allCpus());
  }
}

interface FairnessInputs {
  videos: ReadonlyArray<{ file: string }>;
  images: readonly string[];
  videoQueueUrl: string;
  backlogQueueUrl: string;
  /** Lanes run as two one-CPU machines (and the services on the quick one's CPU). */
  pinned: boolean;
}

async function measureFairness(context: BenchContext, inputs: FairnessInputs): Promise<AreaReport> {
  const { settings, stack } = context;
  const plan = settings.fairness;
  const { videos, images, videoQueueUrl, backlogQueueUrl, pinned } = inputs;

  const keyPrefix = (tenant: string) => `tenants/${tenant}/users/u1/media/`;
  const upload = async (tenant: string, files: readonly string[], tag: string): Promise<UploadedInput[]> => {
    const uploaded: UploadedInput[] = [];
    for (const [index, file] of files.entries())
      uploaded.push(await stack.uploadBody(`${keyPrefix(tenant)}${tag}-${index}-${path.basename(file)}`, file));
    return uploaded;
  };

  const startLayout = async (layout: Layout, tag: string): Promise<WorkerGroup[]> => {
    if (layout === "one-lane")
      return [await startBenchWorkers(context, `fair-${tag}`, { concurrency: 3, env: { FAIR_SHARE: "false" } })];
    const env = {
      MEDIA_LANES: LANES,
      MEDIA_LANE_QUEUE_URLS: `video=${videoQueueUrl}`,
      FAIR_SHARE: layout === "lanes" ? "false" : "true",
      ...(layout === "lanes-fair" ? { FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${backlogQueueUrl}` } : {}),
    };
    return Promise.all(
      (["quick", "video"] as const).map((lane) =>
        startBenchWorkers(context, `fair-${tag}-${lane}`, {
          concurrency: lane === "quick" ? 2 : 1,
          env: { ...env, WORKER_LANES: lane },
          ...(pinned ? { cpus: lane === "quick" ? "0" : "1" } : {}),
        }),
      ),
    );
  };

  let trickleIntervalMs = plan.trickleIntervalMs;
  const scenario = async (layout: Layout, load: Load, tag: string): Promise<ScenarioResult> => {
    const aVideos = load.videos
      ? await upload(
          "tenant-a",
          videos.map((clip) => clip.file),
          `${tag}-v`,
        )
      : [];
    const aImages = load.aBurst
      ? await upload(
          "tenant-a",
          Array.from({ length: plan.aBurst }, (_, i) => images[i % images.length]!),
          `${tag}-ai`,
        )
      : [];
    const bImages = load.bTrickle
      ? await upload(
          "tenant-b",
          Array.from({ length: plan.bTrickle }, (_, i) => images[i % images.length]!),
          `${tag}-bi`,
        )
      : [];
    // Every scenario starts cold: a tenant seen by the fair share within FAIR_SHARE_WINDOW (B in
    // the warm-up) counts as active, which let A's held flood be deferred from the first message
    // and flattered an earlier figure (B found at once behind 24 of A's uploads).
    await forgetFairShare(stack.redis, stack.config.redis.keyPrefix);
    const workers = await startLayout(layout, tag);
    const sentAt = new Map<string, number>();
    const send = async (inputs: readonly UploadedInput[]) => {
      const at = await stack.sendS3Events(inputs);
      for (const input of inputs) sentAt.set(input.jobId, at);
    };
    try {
      await send(aVideos);
      // The flood has every slot busy before the images arrive.
      if (aVideos.length > 0) await sleep(plan.floodLeadMs);
      await send(aImages);
      for (const [index, input] of bImages.entries()) {
        if (index > 0) await sleep(trickleIntervalMs);
        await send([input]);
      }
      const all = [...aVideos, ...aImages, ...bImages];
      const jobs = await stack.waitForJobs(
        all.map((input) => input.jobId),
        30 * 60_000,
      );
      const failed = jobs.filter((job) => job.status !== "completed");
      if (failed.length > 0)
        throw new Error(`${failed.length} fairness job(s) did not complete: ${JSON.stringify(failed[0]!.error)}`);
      const byId = new Map(jobs.map((job) => [job.id, job]));
      const waits = (inputs: readonly UploadedInput[]) =>
        inputs.map((input) => startedAtMs(byId.get(input.jobId)!) - sentAt.get(input.jobId)!);
      const videoJobs = aVideos.map((input) => byId.get(input.jobId)!);
      return {
        bWaitsMs: waits(bImages),
        aImageWaitsMs: waits(aImages),
        ...(videoJobs.length > 0 ? { videosPerMin: videosPerMinute(videoJobs) } : {}),
        deferred: jobs.reduce((sum, job) => sum + job.timeline.filter((entry) => entry.event === "deferred").length, 0),
        probed: jobs.reduce((sum, job) => sum + job.timeline.filter((entry) => entry.event === "requeued").length, 0),
        backlogged: jobs.reduce(
          (sum, job) => sum + job.timeline.filter((entry) => entry.event === "backlogged").length,
          0,
        ),
        bRunMs: bImages.map((input) => {
          const job = byId.get(input.jobId)!;
          return Date.parse(job.finishedAt!) - startedAtMs(job);
        }),
      };
    } finally {
      await Promise.all(workers.map((group) => group.stop()));
      await Promise.all(
        [stack.config.queue.queueUrl, videoQueueUrl, backlogQueueUrl].map((url) =>
          stack.sqs.send(new PurgeQueueCommand({ QueueUrl: url })).catch(() => undefined),
        ),
      );
      await sleep(CONSUMER_STOP_SETTLE_MS);
      await stack.clearObjects(keyPrefix("tenant-a"));
      await stack.clearObjects(keyPrefix("tenant-b"));
    }
  };

  const flood: Load = { videos: true, aBurst: true, bTrickle: true };
  context.log("fairness: warm-up (lanes + fair share, one image each)");
  const warm = await scenario("lanes-fair", { videos: false, aBurst: false, bTrickle: true }, "warm");
  trickleIntervalMs = Math.max(plan.trickleIntervalMs, Math.round((3 * percentile(warm.bRunMs, 0.5)) / 100) * 100);
  context.log(
    `fairness: an image job takes ${(percentile(warm.bRunMs, 0.5) / 1000).toFixed(1)} s here: B sends one every ${trickleIntervalMs / 1000} s`,
  );
  const soloRun = async (tag: string) => {
    context.log("fairness: A's videos alone (lanes + fair share)");
    return (await scenario("lanes-fair", { videos: true, aBurst: false, bTrickle: false }, tag)).videosPerMin!;
  };
  const solo = [await soloRun("solo-1")];
  const results = new Map<string, ScenarioResult>();
  for (const layout of LAYOUTS) {
    context.log(`fairness: ${LAYOUT_NAMES[layout]}: ${plan.videos} videos from A, then A's burst and B's trickle`);
    results.set(layout, await scenario(layout, flood, layout));
    logResult(context, LAYOUT_NAMES[layout], results.get(layout)!);
  }
  context.log("fairness: idle fleet (B's trickle alone)");
  const idle = await scenario("lanes-fair", { videos: false, aBurst: false, bTrickle: true }, "idle");
  solo.push(await soloRun("solo-2"));
  const soloMean = solo.reduce((sum, value) => sum + value, 0) / solo.length;

  const p95 = (values: readonly number[]) => percentile(values, 0.95) / 1000;
  const p50 = (values: readonly number[]) => percentile(values, 0.5) / 1000;
  const figures: Figure[] = [];
  const idleP95 = p95(idle.bWaitsMs);
  figures.push({ label: "tenant B wait on an idle fleet, p50", unit: "s", runs: [p50(idle.bWaitsMs)] });
  figures.push({ label: "tenant B wait on an idle fleet, p95", unit: "s", runs: [idleP95] });
  for (const layout of LAYOUTS) {
    const result = results.get(layout)!;
    figures.push(
      { label: `tenant B wait, ${LAYOUT_NAMES[layout]}, p50`, unit: "s", runs: [p50(result.bWaitsMs)] },
      { label: `tenant B wait, ${LAYOUT_NAMES[layout]}, p95`, unit: "s", runs: [p95(result.bWaitsMs)] },
      { label: `tenant A image wait, ${LAYOUT_NAMES[layout]}, p95`, unit: "s", runs: [p95(result.aImageWaitsMs)] },
      {
        label: `tenant A videos, ${LAYOUT_NAMES[layout]}`,
        unit: "videos/min",
        runs: [result.videosPerMin ?? Number.NaN],
      },
    );
  }
  figures.push({
    label: "tenant A videos alone, lanes + fair share (before / after the floods)",
    unit: "videos/min",
    runs: solo,
  });
  // A newcomer slot starts B at once but shares the quick worker's CPU: its job takes longer.
  figures.push(
    { label: "tenant B image job time (started → finished), idle, p50", unit: "s", runs: [p50(idle.bRunMs)] },
    {
      label: "tenant B image job time (started → finished), lanes + fair share, p95",
      unit: "s",
      runs: [p95(results.get("lanes-fair")!.bRunMs)],
    },
  );
  const fair = results.get("lanes-fair")!;
  const ratios: RatioFigure[] = [
    {
      label: "tenant B p95 wait, one lane / idle",
      runs: [p95(results.get("one-lane")!.bWaitsMs) / idleP95],
      note: "how much longer B waits than on an idle fleet (lower is better)",
    },
    { label: "tenant B p95 wait, lanes / idle", runs: [p95(results.get("lanes")!.bWaitsMs) / idleP95] },
    {
      label: "tenant B p95 wait, lanes + fairness without a backlog (probes) / idle",
      runs: [p95(results.get("lanes-fair-probes")!.bWaitsMs) / idleP95],
    },
    {
      label: "tenant B p95 wait, lanes + fairness / idle",
      runs: [p95(fair.bWaitsMs) / idleP95],
      target: { max: 2, text: "≤ 2.0× (lower is better)" },
    },
    {
      label: "tenant A video throughput, lanes + fairness / A alone",
      runs: [fair.videosPerMin! / soloMean],
      note: "A alone = the mean of its two solo runs",
      target: { min: 0.9, text: "≥ 0.90×" },
    },
  ];
  return {
    title: "Fairness (a flood from one tenant, a trickle from another)",
    setup: [
      `tenant A: ${plan.videos} distinct ${plan.videoSec} s 720p30 videos sent at once, then after ${plan.floodLeadMs / 1000} s a burst of ${plan.aBurst} ${plan.imageSize.join("×")} JPEGs; tenant B: ${plan.bTrickle} of the same JPEGs, one every ${trickleIntervalMs / 1000} s from then on (3 × an image job's time in the warm-up, at least ${plan.trickleIntervalMs / 1000} s)`,
      `the same three job slots in every layout: one lane = 1 worker × concurrency 3 on one queue (both CPUs); lanes = a quick worker (WORKER_LANES=quick, concurrency 2, pinned to CPU 0) and a video worker (WORKER_LANES=video, concurrency 1, pinned to CPU 1), as two machines; ${pinned ? "the S3+SQS emulator and redis-server pinned to CPU 0 throughout (the video CPU runs only the video worker);" : "not pinned (one CPU);"} uploads arrive on the quick (entry) lane's queue and are routed by their bytes; fair share with its defaults (look-ahead 8 and one newcomer slot on the quick lane, neither on the video lane); lanes + fair share has a backlog queue for the quick lane, the probes layout has none`,
      "wait = event sent → the job's startedAt; idle = B's trickle alone on lanes + fair share; A alone = A's videos on lanes + fair share with nothing else sent, run before and after the flood layouts",
      "one run: the ratios within it are what the area shows (lower is better for waits)",
    ],
    figures,
    ratios,
    notes: [
      `In the lanes + fair share run: ${fair.deferred} deferrals (timeline entries \`deferred\` on A's jobs), ${fair.backlogged} moves to the backlog (\`backlogged\`), ${fair.probed} probes (\`requeued\`); without a backlog: ${results.get("lanes-fair-probes")!.deferred} deferrals, ${results.get("lanes-fair-probes")!.probed} probes.`,
    ],
  };
}

/** A lane's queue (or backlog), with the media queue's redrive policy (same DLQ, same maxReceiveCount). */
async function createLaneQueue(context: BenchContext, name: string): Promise<string> {
  const { stack } = context;
  const { Attributes: media = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.config.queue.queueUrl,
      AttributeNames: ["RedrivePolicy", "VisibilityTimeout"],
    }),
  );
  const created = await stack.sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        ...(media.RedrivePolicy ? { RedrivePolicy: media.RedrivePolicy } : {}),
        ...(media.VisibilityTimeout ? { VisibilityTimeout: media.VisibilityTimeout } : {}),
      },
    }),
  );
  return created.QueueUrl!;
}

function startedAtMs(job: JobRecord): number {
  return Date.parse(job.startedAt ?? job.createdAt);
}

function videosPerMinute(jobs: readonly JobRecord[]): number {
  const first = Math.min(...jobs.map(startedAtMs));
  const last = Math.max(...jobs.map((job) => Date.parse(job.finishedAt!)));
  return (jobs.length * 60_000) / (last - first);
}

function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function logResult(context: BenchContext, name: string, result: ScenarioResult): void {
  const p95 = (values: readonly number[]) => (percentile(values, 0.95) / 1000).toFixed(1);
  context.log(
    `fairness: ${name}: B p95 wait ${p95(result.bWaitsMs)} s, A image p95 wait ${p95(result.aImageWaitsMs)} s, A ${result.videosPerMin?.toFixed(2) ?? "–"} videos/min, ${result.deferred} deferrals, ${result.probed} probes, ${result.backlogged} to the backlog`,
  );
  context.log(
    `fairness: ${name}: B's waits in sending order: ${result.bWaitsMs.map((ms) => (ms / 1000).toFixed(2)).join(" ")} s`,
  );
}

/** Deletes every lane's fair-share state (running slots, seen tenants, waiting, starts). */
async function forgetFairShare(redis: Redis, keyPrefix: string): Promise<void> {
  const keys = await redis.keys(`${keyPrefix}lane:*`);
  if (keys.length > 0) await redis.del(...keys);
}

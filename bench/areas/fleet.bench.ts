import type { JobRecord } from "../../src/jobs/job.model.ts";
import { rotating, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { videoClip } from "../lib/inputs.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";
import { median, ratio } from "../lib/stats.ts";

/**
 * Fleet (issue 15): one long video's time to publish on one worker pinned to one core, one pass
 * against chunked (VIDEO_CHUNK_SECONDS), and chunked on two workers pinned to one core each; the
 * chunked runs' time to playable. Each layout's workers are started fresh per run and the
 * layouts rotate their order run to run, so drift spreads over all of them. Times run from the
 * S3 event's send to the job's finishedAt (publish) and to its `playable` timeline entry.
 */
interface Layout {
  name: string;
  workers: number;
  chunked: boolean;
}

const LAYOUTS: readonly Layout[] = [
  { name: "one-pass, 1 worker", workers: 1, chunked: false },
  { name: "chunked, 1 worker", workers: 1, chunked: true },
  { name: "chunked, 2 workers", workers: 2, chunked: true },
];

interface Measured {
  publishSec: number;
  /** CPU seconds of the workers and their tools during the run: what the work cost, whatever else shares the cores. */
  cpuSec: number;
  playableSec: number | undefined;
  workersSeen: number;
}

export async function benchFleet(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const { clipSec, width, height, chunkSec } = settings.fleet;
  const clip = await videoClip(settings.inputDir, clipSec, { width, height });
  const results = LAYOUTS.map(() => [] as Measured[]);
  for (let run = 1; run <= settings.runs; run += 1) {
    const measured = await rotating(
      run,
      LAYOUTS.map((layout, index) => async () => {
        // One worker group per core (taskset pins a whole group): worker i on CPU i, as separate machines.
        const groups = await Promise.all(
          Array.from({ length: layout.workers }, (_, worker) =>
            startBenchWorkers(context, `fleet-${index}-${worker}`, {
              // One job slot per core: a chunk task (or the one-pass ladder) is one ffmpeg on its core.
              concurrency: 1,
              cpus: String(worker),
              env: { VIDEO_CHUNK_SECONDS: layout.chunked ? String(chunkSec) : "0" },
            }),
          ),
        );
        const cpuSeconds = async () =>
          (await Promise.all(groups.map((group) => group.cpuSeconds()))).reduce((sum, seconds) => sum + seconds, 0);
        try {
          const uploaded = await stack.upload([clip.file], `fleet-${index}-r${run}`);
          const cpuBefore = await cpuSeconds();
          const sentAt = Date.now();
          const { jobs } = await stack.runJobs(uploaded, 60 * 60_000);
          const result = { ...measure(jobs[0]!, sentAt), cpuSec: (await cpuSeconds()) - cpuBefore };
          context.log(
            `fleet run ${run}: ${layout.name}: publish ${result.publishSec.toFixed(1)} s (${result.cpuSec.toFixed(0)} cpu-s), playable ${result.playableSec?.toFixed(1) ?? "-"} s, ${result.workersSeen} worker(s) encoded`,
          );
          if (layout.chunked) context.log(`fleet run ${run}: ${layout.name}: parts ${partTimes(jobs[0]!, sentAt)}`);
          return result;
        } finally {
          await Promise.all(groups.map((group) => group.stop()));
          await stack.clearObjects();
        }
      }),
    );
    for (const [index, result] of measured.entries()) results[index]!.push(result);
  }
  const publish = results.map((runs) => runs.map((result) => result.publishSec));
  const [onePass, chunkedOne, chunkedTwo] = publish as [number[], number[], number[]];
  const playableTwo = results[2]!.map((result) => result.playableSec ?? result.publishSec);
  const figures: Figure[] = [
    ...LAYOUTS.map((layout, index) => ({
      label: `time to publish: ${layout.name}`,
      unit: "s",
      runs: publish[index]!,
      digits: 1,
    })),
    { label: "time to playable: chunked, 2 workers", unit: "s", runs: playableTwo, digits: 1 },
    ...LAYOUTS.map((layout, index) => ({
      label: `worker CPU: ${layout.name}`,
      unit: "cpu-s",
      runs: results[index]!.map((result) => result.cpuSec),
      digits: 1,
    })),
  ];
  const cpu = results.map((runs) => runs.map((result) => result.cpuSec));
  const ratios: RatioFigure[] = [
    {
      label: "2 workers / 1 worker time-to-publish speed-up",
      runs: onePass.map((seconds, run) => ratio(seconds, chunkedTwo[run]!)),
      target: { min: 1.7, text: "≥ 1.7× (one pass on 1 worker → chunked on 2)" },
    },
    {
      label: "chunked: 2 workers / 1 worker speed-up",
      runs: chunkedOne.map((seconds, run) => ratio(seconds, chunkedTwo[run]!)),
    },
    {
      label: "chunked on 1 worker / one pass time (overhead)",
      runs: chunkedOne.map((seconds, run) => ratio(seconds, onePass[run]!)),
      target: { max: 1.1, text: "≤ 1.10 (≤ 10 % overhead)" },
    },
    {
      label: "chunked on 1 worker / one pass CPU (overhead, load-independent)",
      runs: cpu[1]!.map((seconds, run) => ratio(seconds, cpu[0]![run]!)),
      target: { max: 1.1, text: "≤ 1.10" },
    },
    {
      label: "time to playable / time to publish (chunked, 2 workers)",
      runs: playableTwo.map((seconds, run) => ratio(seconds, chunkedTwo[run]!)),
      target: { max: 0.2, text: "< 0.20" },
    },
  ];
  return {
    title: "Fleet (one long video across workers)",
    setup: [
      `one ${clipSec} s ${width}×${height}p30 clip with sound (16 Mbit/s); chunked: VIDEO_CHUNK_SECONDS=${chunkSec} (${Math.ceil(clipSec / chunkSec)} chunks at most, the first VIDEO_CHUNK_FIRST_SECONDS long, + the audio and stills tasks)`,
      "each worker is pinned to its own core with taskset (it and its ffmpeg), concurrency 1; workers started fresh for every layout and run, layouts in rotating order",
      "times run from the S3 event's send to the job's finishedAt (publish) and to its `playable` timeline entry",
    ],
    figures,
    ratios,
    notes: [
      `Medians: one pass ${median(onePass).toFixed(1)} s, chunked on 1 worker ${median(chunkedOne).toFixed(1)} s, chunked on 2 workers ${median(chunkedTwo).toFixed(1)} s, playable after ${median(playableTwo).toFixed(1)} s.`,
    ],
  };
}

function measure(job: JobRecord, sentAt: number): Omit<Measured, "cpuSec"> {
  const finished = Date.parse(job.finishedAt!);
  const playable = job.timeline.find((entry) => entry.event === "playable");
  const workers = new Set(
    job.timeline
      .filter((entry) => entry.event === "chunk-encoded")
      .map((entry) => String((entry.detail as { workerId?: unknown } | undefined)?.workerId)),
  );
  return {
    publishSec: (finished - sentAt) / 1000,
    playableSec: playable ? (Date.parse(playable.at) - sentAt) / 1000 : undefined,
    workersSeen: Math.max(1, workers.size),
  };
}

/** Each part's worker and start–end seconds after the send, in start order: where the time went. */
function partTimes(job: JobRecord, sentAt: number): string {
  const workers = new Map<string, number>();
  return job.timeline
    .filter((entry) => entry.event === "chunk-encoded")
    .map((entry) => entry.detail as { chunk?: unknown; workerId?: unknown; startedAt?: unknown; endedAt?: unknown })
    .map((detail) => ({
      part: String(detail.chunk),
      worker: String(detail.workerId),
      start: (Date.parse(String(detail.startedAt)) - sentAt) / 1000,
      end: (Date.parse(String(detail.endedAt)) - sentAt) / 1000,
    }))
    .sort((a, b) => a.start - b.start)
    .map((part) => {
      if (!workers.has(part.worker)) workers.set(part.worker, workers.size);
      return `${part.part}@w${workers.get(part.worker)} ${part.start.toFixed(1)}–${part.end.toFixed(1)}`;
    })
    .join(", ");
}

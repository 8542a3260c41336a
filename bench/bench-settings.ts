import os from "node:os";
import path from "node:path";

/**
 * How much the benchmark does. The default run takes about 11 minutes on a 2-core machine;
 * `BENCH_QUICK=1` is a 2–3 minute smoke run with smaller inputs (its absolute numbers are not
 * the real ones, its ratios are indicative only). Every figure is a median of `runs` runs.
 *
 *   BENCH_QUICK=1            small inputs
 *   BENCH_ONLY=images,queue  only these areas (images, video, audio, documents, queue, scaling, quality, jobstore, fairness, fleet)
 *   BENCH_RUNS=5             runs per figure (at least 3)
 *   BENCH_INPUT_DIR=…        where generated inputs are cached (default: <tmp>/media-processor-bench)
 *   BENCH_CPU_PROFILE=1      also write a --cpu-prof profile of each worker (kept in <tmp>/media-processor-bench-profiles-*)
 *   BENCH_PER_VARIANT=1      images: also time a raw script with one plain sharp pipeline per variant
 *   BENCH_VIDEO_PARALLEL=1   video: also time one ffmpeg per rung, all rungs side by side
 *   BENCH_JOBSTORE_SIZES=…   jobstore: job counts to load, comma-separated (default 100000,1000000; quick 10000,100000)
 */
export const AREAS = [
  "queue",
  "images",
  "audio",
  "documents",
  "video",
  "scaling",
  "quality",
  "jobstore",
  "fairness",
  "fleet",
] as const;
export type AreaName = (typeof AREAS)[number];
/**
 * What a run without BENCH_ONLY measures. Three areas run on their own: quality (issue 19;
 * `BENCH_ONLY=quality`, ~25 min on a busy 2-core machine, its own page quality-results.md),
 * jobstore (issue 18; `BENCH_ONLY=jobstore`: loading a million synthetic jobs alone takes 15–45 min)
 * and fairness (issue 16; `BENCH_ONLY=fairness`, 20–30 min on 2 cores: it compares fleet layouts, not our code with raw tools),
 * fleet (issue 15; `BENCH_ONLY=fleet`: one-pass and chunked video on one pinned core and on two).
 */
const OWN_RUN_AREAS: readonly AreaName[] = ["quality", "jobstore", "fairness", "fleet"];
export const DEFAULT_AREAS: readonly AreaName[] = AREAS.filter((area) => !OWN_RUN_AREAS.includes(area));

export interface BenchSettings {
  quick: boolean;
  runs: number;
  areas: AreaName[];
  inputDir: string;
  cpuProfile: boolean;
  images: {
    jpegCount: number;
    jpegSize: [number, number];
    pngCount: number;
    pngSize: [number, number];
    concurrency: number;
    perVariantSide: boolean;
  };
  video: { durationSec: number; concurrency: number; perRungParallel: boolean };
  audio: { count: number; durationSec: number; concurrency: number };
  documents: { count: number; pages: number; concurrency: number };
  queue: { messages: number; concurrency: number; roundTripJobs: number };
  scaling: { jpegCount: number; layouts: Array<{ processes: number; concurrency: number }> };
  /** Quality area: still size, clip length (720p30), candidate sets (quick: fewer), metric runs side by side. */
  quality: { imageSize: [number, number]; clipSec: number; fullCandidates: boolean; scoreParallel: number };
  jobstore: { sizes: number[]; samples: number; tenants: number };
  /** Fleet area: clip length and size, VIDEO_CHUNK_SECONDS of the chunked layouts. */
  fleet: { clipSec: number; width: number; height: number; chunkSec: number };
  /** Fairness area: A's flood of videos (count, seconds each, 720p), A's image burst, B's trickle (count, interval). */
  fairness: {
    videos: number;
    videoSec: number;
    imageSize: [number, number];
    aBurst: number;
    bTrickle: number;
    trickleIntervalMs: number;
    floodLeadMs: number;
  };
}

export function benchSettings(env: Record<string, string | undefined> = process.env): BenchSettings {
  const flag = (name: string) => ["1", "true", "yes"].includes((env[name] ?? "").toLowerCase());
  const quick = flag("BENCH_QUICK");
  const only = (env.BENCH_ONLY ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only.filter((name) => !(AREAS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown area(s) ${unknown.join(", ")}; known: ${AREAS.join(", ")}`);
  const runs = Math.max(3, Number(env.BENCH_RUNS ?? 3) || 3);
  return {
    quick,
    runs,
    areas: only.length > 0 ? (only as AreaName[]) : [...DEFAULT_AREAS],
    inputDir: env.BENCH_INPUT_DIR ?? path.join(os.tmpdir(), "media-processor-bench"),
    cpuProfile: flag("BENCH_CPU_PROFILE"),
    images: quick
      ? {
          jpegCount: 2,
          jpegSize: [3000, 2000],
          pngCount: 1,
          pngSize: [1000, 750],
          concurrency: 2,
          perVariantSide: flag("BENCH_PER_VARIANT"),
        }
      : {
          jpegCount: 4,
          jpegSize: [6000, 4000],
          pngCount: 2,
          pngSize: [4000, 3000],
          concurrency: 2,
          perVariantSide: flag("BENCH_PER_VARIANT"),
        },
    video: { durationSec: quick ? 3 : 30, concurrency: 1, perRungParallel: flag("BENCH_VIDEO_PARALLEL") },
    audio: quick ? { count: 1, durationSec: 30, concurrency: 2 } : { count: 2, durationSec: 120, concurrency: 2 },
    documents: quick ? { count: 2, pages: 10, concurrency: 2 } : { count: 6, pages: 40, concurrency: 2 },
    queue: quick
      ? { messages: 150, concurrency: 10, roundTripJobs: 30 }
      : { messages: 500, concurrency: 10, roundTripJobs: 100 },
    quality: quick
      ? { imageSize: [800, 600], clipSec: 4, fullCandidates: false, scoreParallel: 2 }
      : { imageSize: [1024, 768], clipSec: 8, fullCandidates: true, scoreParallel: 2 },
    fleet: quick
      ? { clipSec: 24, width: 1280, height: 720, chunkSec: 6 }
      : { clipSec: 150, width: 1920, height: 1080, chunkSec: 30 },
    jobstore: {
      sizes: (env.BENCH_JOBSTORE_SIZES ?? (quick ? "10000,100000" : "100000,1000000"))
        .split(",")
        .map((size) => Number(size.trim()))
        .filter((size) => Number.isInteger(size) && size > 0),
      samples: quick ? 60 : 200,
      tenants: 200,
    },
    fairness: quick
      ? {
          videos: 3,
          videoSec: 6,
          imageSize: [1600, 1200],
          aBurst: 8,
          bTrickle: 6,
          trickleIntervalMs: 2000,
          floodLeadMs: 3000,
        }
      : {
          videos: 8,
          videoSec: 10,
          imageSize: [2400, 1600],
          aBurst: 24,
          bTrickle: 12,
          trickleIntervalMs: 3000,
          floodLeadMs: 5000,
        },
    scaling: quick
      ? {
          jpegCount: 2,
          layouts: [
            { processes: 1, concurrency: 1 },
            { processes: 1, concurrency: 2 },
          ],
        }
      : {
          jpegCount: 4,
          layouts: [
            { processes: 1, concurrency: 1 },
            { processes: 1, concurrency: 2 },
            { processes: 1, concurrency: 4 },
            { processes: 2, concurrency: 1 },
          ],
        },
  };
}

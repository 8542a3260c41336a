import os from "node:os";
import path from "node:path";

/**
 * How much the benchmark does. The default run aims at ~10 minutes on a 2-core machine;
 * `BENCH_QUICK=1` is a ~2 minute smoke run with smaller inputs (its absolute numbers are not
 * the real ones, its ratios are indicative only). Every figure is a median of `runs` runs.
 *
 *   BENCH_QUICK=1            small inputs
 *   BENCH_ONLY=images,queue  only these areas (images, video, audio, documents, queue, scaling)
 *   BENCH_RUNS=5             runs per figure (at least 3)
 *   BENCH_INPUT_DIR=…        where generated inputs are cached (default: <tmp>/media-processor-bench)
 *   BENCH_CPU_PROFILE=1      also write a --cpu-prof profile of each worker into the bench temp dir
 */
export const AREAS = ["queue", "images", "audio", "documents", "video", "scaling"] as const;
export type AreaName = (typeof AREAS)[number];

export interface BenchSettings {
  quick: boolean;
  runs: number;
  areas: AreaName[];
  inputDir: string;
  cpuProfile: boolean;
  images: { jpegCount: number; jpegSize: [number, number]; pngCount: number; pngSize: [number, number]; concurrency: number };
  video: { durationSec: number; concurrency: number };
  audio: { count: number; durationSec: number; concurrency: number };
  documents: { count: number; pages: number; concurrency: number };
  queue: { messages: number; concurrency: number; roundTripJobs: number };
  scaling: { jpegCount: number; layouts: Array<{ processes: number; concurrency: number }> };
}

export function benchSettings(env: Record<string, string | undefined> = process.env): BenchSettings {
  const quick = ["1", "true", "yes"].includes((env.BENCH_QUICK ?? "").toLowerCase());
  const only = (env.BENCH_ONLY ?? "").split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = only.filter((name) => !(AREAS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown area(s) ${unknown.join(", ")}; known: ${AREAS.join(", ")}`);
  const runs = Math.max(3, Number(env.BENCH_RUNS ?? 3) || 3);
  return {
    quick,
    runs,
    areas: only.length > 0 ? (only as AreaName[]) : [...AREAS],
    inputDir: env.BENCH_INPUT_DIR ?? path.join(os.tmpdir(), "media-processor-bench"),
    cpuProfile: ["1", "true", "yes"].includes((env.BENCH_CPU_PROFILE ?? "").toLowerCase()),
    images: quick
      ? { jpegCount: 2, jpegSize: [6000, 4000], pngCount: 1, pngSize: [2000, 1500], concurrency: 2 }
      : { jpegCount: 6, jpegSize: [6000, 4000], pngCount: 2, pngSize: [4000, 3000], concurrency: 2 },
    video: { durationSec: quick ? 6 : 30, concurrency: 1 },
    audio: quick ? { count: 1, durationSec: 30, concurrency: 2 } : { count: 2, durationSec: 180, concurrency: 2 },
    documents: quick ? { count: 2, pages: 10, concurrency: 2 } : { count: 6, pages: 40, concurrency: 2 },
    queue: quick ? { messages: 200, concurrency: 10, roundTripJobs: 50 } : { messages: 600, concurrency: 10, roundTripJobs: 100 },
    scaling: quick
      ? { jpegCount: 2, layouts: [{ processes: 1, concurrency: 1 }, { processes: 1, concurrency: 2 }] }
      : {
          jpegCount: 6,
          layouts: [
            { processes: 1, concurrency: 1 },
            { processes: 1, concurrency: 2 },
            { processes: 1, concurrency: 4 },
            { processes: 2, concurrency: 1 },
            { processes: 2, concurrency: 2 },
          ],
        },
  };
}

import path from "node:path";
import type { BenchSettings } from "../bench-settings.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import type { BenchStack } from "./stack.ts";
import { startWorkers, type WorkerGroup } from "./workers.ts";

/** What every area gets: the settings, the running stack, and a scratch folder of this run. */
export interface BenchContext {
  settings: BenchSettings;
  stack: BenchStack;
  /** Scratch space of this benchmark run (raw outputs, request files, logs, profiles). */
  workDir: string;
  /** Progress lines for the person watching (stderr, so stdout stays the table). */
  log(message: string): void;
}

/** Worker processes of the stack with the given concurrency (and a CPU profile when asked). */
export function startBenchWorkers(
  context: BenchContext,
  name: string,
  options: {
    processes?: number;
    concurrency: number;
    env?: Record<string, string>;
    nodeArgs?: string[];
    /** Pin to these CPUs (`taskset -c`), to emulate separate machines. */
    cpus?: string;
  },
): Promise<WorkerGroup> {
  const profile = context.settings.cpuProfile
    ? ["--cpu-prof", `--cpu-prof-dir=${path.join(context.workDir, "profiles", name)}`]
    : [];
  return startWorkers({
    count: options.processes ?? 1,
    env: context.stack.workerEnv({ MEDIA_PROCESSOR_CONCURRENCY: String(options.concurrency), ...options.env }),
    nodeArgs: [...profile, ...(options.nodeArgs ?? [])],
    logFile: path.join(context.workDir, "workers.log"),
    name: `bench-${name}`,
    ...(options.cpus ? { cpus: options.cpus } : {}),
  });
}

export interface MeasuredPipelineRun {
  wallMs: number;
  jobs: JobRecord[];
  /** CPU seconds of the worker processes and the tools they ran, during the run. */
  workerCpuSec: number;
  /** The part of {@link workerCpuSec} the worker processes used themselves (node, sharp, uploads), not ffmpeg / ffprobe / pdf.js. */
  workerOwnCpuSec: number;
  /** CPU seconds of this process during the run: the S3+SQS emulator serving the worker, and the harness's polling. */
  emulatorCpuSec: number;
}

/**
 * One pipeline run: upload the files under fresh keys (not timed), send their notifications,
 * wait for every job to complete, then delete the objects. CPU is read around the timed part.
 */
export async function measuredPipelineRun(
  context: BenchContext,
  workers: WorkerGroup,
  files: readonly string[],
  tag: string,
): Promise<MeasuredPipelineRun> {
  const { stack } = context;
  const uploaded = await stack.upload(files, tag);
  const workerBefore = await workers.cpu();
  const ownBefore = process.cpuUsage();
  const result = await stack.runJobs(uploaded, 20 * 60_000);
  const own = process.cpuUsage(ownBefore);
  const workerAfter = await workers.cpu();
  const workerCpuSec = workerAfter.totalSec - workerBefore.totalSec;
  const workerOwnCpuSec = workerAfter.ownSec - workerBefore.ownSec;
  await stack.clearObjects();
  return { ...result, workerCpuSec, workerOwnCpuSec, emulatorCpuSec: (own.user + own.system) / 1e6 };
}

/** Runs `first` then `second` on odd runs and the other way round on even ones, so drift hits both sides alike. */
export async function alternate<A, B>(run: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (run % 2 === 1) {
    const a = await first();
    return [a, await second()];
  }
  const b = await second();
  return [await first(), b];
}

/** Runs every side once, starting with a different one each run (run 1: 0,1,2; run 2: 1,2,0; …); results in the given order. */
export async function rotating<T>(run: number, sides: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const results = new Array<T>(sides.length);
  for (let step = 0; step < sides.length; step += 1) {
    const index = (run - 1 + step) % sides.length;
    results[index] = await sides[index]!();
  }
  return results;
}

export const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

import path from "node:path";
import type { BenchSettings } from "../bench-settings.ts";
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
export function startBenchWorkers(context: BenchContext, name: string, options: { processes?: number; concurrency: number; env?: Record<string, string>; nodeArgs?: string[] }): Promise<WorkerGroup> {
  const profile = context.settings.cpuProfile ? ["--cpu-prof", `--cpu-prof-dir=${path.join(context.workDir, "profiles", name)}`] : [];
  return startWorkers({
    count: options.processes ?? 1,
    env: context.stack.workerEnv({ MEDIA_PROCESSOR_CONCURRENCY: String(options.concurrency), ...options.env }),
    nodeArgs: [...profile, ...(options.nodeArgs ?? [])],
    logFile: path.join(context.workDir, "workers.log"),
    name: `bench-${name}`,
  });
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

export const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

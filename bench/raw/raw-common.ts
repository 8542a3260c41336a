import { readFile } from "node:fs/promises";
import { processTreeCpuSeconds } from "../lib/process-cpu.ts";

/** What every raw-side process prints as its one line of JSON on stdout. */
export interface RawRunResult {
  wallMs: number;
  items: number;
  /** VmHWM of the raw process itself. */
  peakRssMiB: number;
  /** CPU seconds of the work: the process and the tools it ran, from before to after the work. */
  cpuSec: number;
  detail?: Record<string, unknown>;
}

/** Runs `work` over `items` with at most `concurrency` at once (the worker's MEDIA_PROCESSOR_CONCURRENCY). */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}

/** Peak resident set of this process (VmHWM), in MiB. */
export async function peakRssMiB(pid: number | "self" = "self"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU seconds used so far by this process and its children (see processTreeCpuSeconds). */
export function cpuSecondsNow(): Promise<number> {
  return processTreeCpuSeconds(process.pid);
}

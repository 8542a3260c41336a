import { readFile } from "node:fs/promises";
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import type { CommandCounts } from "./redis-stats.ts";

/** The preload's import path, for a worker's node arguments. */
export const REDIS_COUNTER_PRELOAD = "./bench/lib/redis-counter.preload.ts";

export interface ClientRedisCounts {
  seq: number;
  commands: CommandCounts;
  writes: number;
}

/** Asks a worker running the preload for a snapshot of its counts (SIGUSR2) and reads it. */
export async function snapshotClientCounts(worker: ChildProcess, file: string): Promise<ClientRedisCounts> {
  const previous = await readCounts(file);
  worker.kill("SIGUSR2");
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const current = await readCounts(file);
    if (current && current.seq !== previous?.seq) return current;
    await sleep(20);
  }
  throw new Error("the worker did not write its Redis counts (is the preload loaded?)");
}

async function readCounts(file: string): Promise<ClientRedisCounts | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as ClientRedisCounts;
  } catch {
    return undefined;
  }
}

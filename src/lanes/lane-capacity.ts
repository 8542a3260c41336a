import type { WorkerRegistry } from "../jobs/worker.registry.ts";

/**
 * A lane's capacity: the running slots of the live workers that serve it (the worker registry
 * records each worker's concurrency per lane). Read at most every `cacheMs`, since it changes
 * only as workers come and go; never below this worker's own slots, so a registry not yet
 * written (the first beat) or unreachable reads as "at least me".
 */
export function laneCapacity(
  registry: WorkerRegistry,
  lane: string,
  ownSlots: number,
  cacheMs = 2_000,
): () => Promise<number> {
  let cached: { value: number; at: number } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.value;
    const workers = await registry.alive().catch(() => []);
    const total = workers.reduce((sum, worker) => sum + (worker.lanes?.[lane] ?? 0), 0);
    cached = { value: Math.max(ownSlots, total), at: Date.now() };
    return cached.value;
  };
}

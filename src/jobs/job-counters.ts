import type { Redis } from "ioredis";
import { HOUR_MS, MINUTE_BUCKETS_MAX_WINDOW_MS, MINUTE_MS } from "./lua-helpers.ts";

/**
 * Reads the time-bucketed counters the transition scripts keep (`stats:m:*`, `stats:h:*`, see
 * job.scripts.ts). A window costs one pipelined HGETALL per bucket it spans — at most 180
 * minute buckets, or one per hour beyond three hours — whatever the number of jobs.
 */
export interface CounterBucket {
  /** Epoch ms of the bucket's start. */
  startMs: number;
  sizeMs: number;
  counts: Record<string, number>;
}

/**
 * The buckets covering [fromMs, toMs], oldest first. Windows up to three hours read minute
 * buckets; longer ones whole hours, so their first hour may count up to 59 minutes before
 * `fromMs`.
 */
export async function readCounterBuckets(redis: Redis, keyPrefix: string, fromMs: number, toMs: number): Promise<CounterBucket[]> {
  const sizeMs = toMs - fromMs <= MINUTE_BUCKETS_MAX_WINDOW_MS ? MINUTE_MS : HOUR_MS;
  const tag = sizeMs === MINUTE_MS ? "m" : "h";
  const first = Math.floor(fromMs / sizeMs);
  const last = Math.floor(toMs / sizeMs);
  const numbers: number[] = [];
  for (let bucket = first; bucket <= last; bucket += 1) numbers.push(bucket);
  const pipeline = redis.pipeline();
  for (const bucket of numbers) pipeline.hgetall(`${keyPrefix}stats:${tag}:${bucket}`);
  const replies = (await pipeline.exec()) ?? [];
  return numbers.map((bucket, index) => {
    const [error, hash] = replies[index] ?? [null, {}];
    if (error) throw error;
    const counts: Record<string, number> = {};
    for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>)) counts[field] = Number(value);
    return { startMs: bucket * sizeMs, sizeMs, counts };
  });
}

import type { Redis } from "ioredis";
import { HOUR_MS, MINUTE_BUCKETS_MAX_WINDOW_MS, MINUTE_MS } from "./lua-helpers.ts";

/**
 * Reads the time-bucketed counters the transition scripts keep (`stats:m:*`, `stats:h:*`, see
 * job.scripts.ts). A window costs one pipelined HGETALL per bucket it spans — at most 181
 * minute buckets, or one per hour beyond three hours — whatever the number of jobs. A bucket
 * whose time is over (with a minute's grace for workers' clock skew) no longer changes, so it
 * is read once per process and kept until Redis would have expired it: a 7-day window then
 * reads one bucket from Redis.
 */
export interface CounterBucket {
  /** Epoch ms of the bucket's start. */
  startMs: number;
  sizeMs: number;
  counts: Record<string, number>;
}

/** A bucket counts as closed this long after its end (transitions carry their worker's clock). */
const CLOSED_AFTER_MS = MINUTE_MS;
/** Closed buckets kept in memory at most (a week of hours and three hours of minutes fit). */
const CACHE_LIMIT = 500;

export class CounterReader {
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly closed = new Map<string, CounterBucket>();

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.keyPrefix = keyPrefix;
  }

  /**
   * The buckets covering [fromMs, toMs], oldest first. Windows up to three hours read minute
   * buckets; longer ones whole hours, so their first hour may count up to 59 minutes before
   * `fromMs`. `nowMs` decides which buckets are closed.
   */
  async read(fromMs: number, toMs: number, nowMs = Date.now()): Promise<CounterBucket[]> {
    const sizeMs = toMs - fromMs <= MINUTE_BUCKETS_MAX_WINDOW_MS ? MINUTE_MS : HOUR_MS;
    const tag = sizeMs === MINUTE_MS ? "m" : "h";
    const keys: string[] = [];
    for (let bucket = Math.floor(fromMs / sizeMs); bucket <= Math.floor(toMs / sizeMs); bucket += 1)
      keys.push(`${this.keyPrefix}stats:${tag}:${bucket}`);
    const missing = keys.filter((key) => !this.closed.has(key));
    const pipeline = this.redis.pipeline();
    for (const key of missing) pipeline.hgetall(key);
    const replies = missing.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const fresh = new Map<string, CounterBucket>();
    missing.forEach((key, index) => {
      const [error, hash] = replies[index] ?? [null, {}];
      if (error) throw error;
      const startMs = Number(key.slice(key.lastIndexOf(":") + 1)) * sizeMs;
      const counts: Record<string, number> = {};
      for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>))
        counts[field] = Number(value);
      const bucket = { startMs, sizeMs, counts };
      fresh.set(key, bucket);
      if (startMs + sizeMs + CLOSED_AFTER_MS <= nowMs) this.remember(key, bucket);
    });
    return keys.map((key) => this.closed.get(key) ?? fresh.get(key)!);
  }

  private remember(key: string, bucket: CounterBucket): void {
    this.closed.set(key, bucket);
    // Oldest first out: Map keeps insertion order.
    while (this.closed.size > CACHE_LIMIT) this.closed.delete(this.closed.keys().next().value!);
  }
}

import { DURATION_BUCKET_BOUNDS_MS } from "../jobs/lua-helpers.ts";
import type { CounterBucket } from "../jobs/job-counters.ts";

/**
 * Durations as the counters keep them (count, sum, min, max and a fixed-bound histogram per
 * minute/hour, see job.scripts.ts) and the figures read from them. Pure.
 */
export interface DurationHistogram {
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
  /** Counts per bucket: index i holds durations ≤ DURATION_BUCKET_BOUNDS_MS[i]; the last one the rest. */
  buckets: number[];
}

export interface DurationStats {
  count: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  /** Estimated from the histogram (linear within a bucket), never outside [min, max]. */
  p95Ms: number;
}

export const emptyHistogram = (): DurationHistogram => ({
  count: 0,
  sumMs: 0,
  minMs: Number.POSITIVE_INFINITY,
  maxMs: 0,
  buckets: new Array<number>(DURATION_BUCKET_BOUNDS_MS.length + 1).fill(0),
});

/** Adds the `{name}:…` fields of one counter bucket to `into`. */
export function addHistogram(into: DurationHistogram, counts: CounterBucket["counts"], name: string): void {
  const count = counts[`${name}:n`] ?? 0;
  if (count === 0) return;
  into.count += count;
  into.sumMs += counts[`${name}:sum`] ?? 0;
  into.minMs = Math.min(into.minMs, counts[`${name}:min`] ?? Number.POSITIVE_INFINITY);
  into.maxMs = Math.max(into.maxMs, counts[`${name}:max`] ?? 0);
  for (let index = 0; index < into.buckets.length; index += 1)
    into.buckets[index]! += counts[`${name}:b${index + 1}`] ?? 0;
}

/** The value at quantile q (0..1) by nearest rank over the histogram, interpolated within its bucket. */
export function histogramQuantile(histogram: DurationHistogram, q: number): number {
  if (histogram.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * histogram.count));
  let below = 0;
  for (let index = 0; index < histogram.buckets.length; index += 1) {
    const inBucket = histogram.buckets[index]!;
    if (below + inBucket >= rank) {
      const lower = index === 0 ? 0 : DURATION_BUCKET_BOUNDS_MS[index - 1]!;
      const upper = DURATION_BUCKET_BOUNDS_MS[index] ?? histogram.maxMs;
      const estimate = lower + ((upper - lower) * (rank - below)) / inBucket;
      return Math.round(Math.min(histogram.maxMs, Math.max(histogram.minMs, estimate)));
    }
    below += inBucket;
  }
  return histogram.maxMs;
}

export function histogramStats(histogram: DurationHistogram): DurationStats | undefined {
  if (histogram.count === 0) return undefined;
  return {
    count: histogram.count,
    avgMs: Math.round(histogram.sumMs / histogram.count),
    minMs: histogram.minMs,
    maxMs: histogram.maxMs,
    p95Ms: histogramQuantile(histogram, 0.95),
  };
}

/**
 * The arithmetic of the benchmark (pure, unit-tested): medians of repeated runs and the ratios
 * between two sides of one run. Absolute numbers depend on the machine; ratios taken from
 * measurements made together on one machine are what the benchmark reports and judges.
 */

/** Median of the values; the mean of the two middle values for an even count. Throws on none. */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) throw new Error("median of no values");
  const sorted = [...finite].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Spread of repeated runs as (max − min) / median: how much to trust a median. */
export function relativeSpread(values: readonly number[]): number {
  const mid = median(values);
  if (mid === 0) return 0;
  return (Math.max(...values) - Math.min(...values)) / Math.abs(mid);
}

/** Items per second from a count and a wall time in milliseconds. */
export function perSecond(items: number, wallMs: number): number {
  if (!(wallMs > 0)) throw new Error(`wall time must be positive, got ${wallMs}`);
  return (items * 1000) / wallMs;
}

/** Seconds of media processed per second of wall time. */
export function realtimeFactor(mediaSeconds: number, wallMs: number): number {
  return perSecond(mediaSeconds, wallMs);
}

/**
 * Ours over theirs for a "higher is better" figure (throughput): 0.9 means we reach 90 % of it.
 * For times ("lower is better") pass theirs/ours the other way round: {@link speedRatioFromTimes}.
 */
export function ratio(ours: number, theirs: number): number {
  if (!(theirs > 0)) throw new Error(`ratio against a non-positive reference (${theirs})`);
  return ours / theirs;
}

/** Relative speed from two times: reference time / our time (1.0 = as fast, 0.5 = twice as slow). */
export function speedRatioFromTimes(ourMs: number, referenceMs: number): number {
  if (!(ourMs > 0)) throw new Error(`time must be positive, got ${ourMs}`);
  return referenceMs / ourMs;
}

/**
 * Median of per-run ratios. Each run measures both sides back to back, so a run's ratio cancels
 * most of the machine's drift (other processes come and go); the median of those ratios is
 * steadier than the ratio of the two medians.
 */
export function medianRatio(pairs: ReadonlyArray<{ ours: number; theirs: number }>): number {
  return median(pairs.map((pair) => ratio(pair.ours, pair.theirs)));
}

/** Verdict of a figure against its target (higher is better). */
export function meetsTarget(value: number, target: number): boolean {
  return value >= target;
}

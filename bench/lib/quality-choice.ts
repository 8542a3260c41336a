/**
 * How the quality area reads its measurements (pure, unit-tested in tests/unit/bench-quality.test.ts):
 * the frontier of settings no other setting beats on both cost and score, and the default a
 * stated target picks: the fewest bytes among the settings whose worst input meets the target,
 * within a CPU budget.
 */

export interface CostPoint {
  id: string;
  /** Bytes or CPU seconds: lower is better. */
  cost: number;
  /** Higher is better. */
  score: number;
}

/** Ids of the points no other point dominates (cost ≤ and score ≥, one of them strictly). */
export function paretoFrontier(points: readonly CostPoint[]): Set<string> {
  const frontier = new Set<string>();
  for (const point of points) {
    const dominated = points.some(
      (other) =>
        other !== point &&
        other.cost <= point.cost &&
        other.score >= point.score &&
        (other.cost < point.cost || other.score > point.score),
    );
    if (!dominated) frontier.add(point.id);
  }
  return frontier;
}

export interface SettingSummary {
  id: string;
  /** The knob group a default is chosen within (e.g. `web WebP`, `web AVIF`). */
  group: string;
  /** The worst input's score: a default must hold for every kind of picture, not on average. */
  minScore: number;
  meanBytes: number;
  meanCpuSec: number;
}

/** The setting of `group` with the fewest mean bytes whose worst score meets `target` within `cpuBudgetSec`; undefined when none does. */
export function chooseSetting(
  settings: readonly SettingSummary[],
  group: string,
  target: number,
  cpuBudgetSec = Number.POSITIVE_INFINITY,
): SettingSummary | undefined {
  return settings
    .filter((setting) => setting.group === group && setting.minScore >= target && setting.meanCpuSec <= cpuBudgetSec)
    .sort((a, b) => a.meanBytes - b.meanBytes)[0];
}

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;

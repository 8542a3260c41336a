/**
 * Where a job's time went, from the timeline every job records in Redis (pure, unit-tested).
 * The gap between two consecutive timeline entries is charged to the step that ends it, named
 * `previous → next`; averaged over the jobs of a run this is the pipeline's profile.
 */

export interface TimedEntry {
  at: string;
  event: string;
}

export interface JobTimes {
  createdAt: string;
  finishedAt?: string | undefined;
  timeline: readonly TimedEntry[];
}

export interface StepCost {
  step: string;
  /** Mean milliseconds per job that has this step. */
  meanMs: number;
  jobs: number;
}

/** Consecutive gaps of one timeline, in the order they happened. */
export function timelineGaps(timeline: readonly TimedEntry[]): Array<{ step: string; ms: number }> {
  const gaps: Array<{ step: string; ms: number }> = [];
  for (let index = 1; index < timeline.length; index += 1) {
    const previous = timeline[index - 1]!;
    const next = timeline[index]!;
    gaps.push({ step: `${previous.event} → ${next.event}`, ms: Date.parse(next.at) - Date.parse(previous.at) });
  }
  return gaps;
}

/** Mean cost of each step over the jobs, in the order steps first appear. */
export function stepCosts(jobs: readonly JobTimes[]): StepCost[] {
  const totals = new Map<string, { ms: number; jobs: number }>();
  for (const job of jobs) {
    for (const gap of timelineGaps(job.timeline)) {
      const total = totals.get(gap.step) ?? { ms: 0, jobs: 0 };
      total.ms += gap.ms;
      total.jobs += 1;
      totals.set(gap.step, total);
    }
  }
  return [...totals.entries()].map(([step, total]) => ({ step, meanMs: total.ms / total.jobs, jobs: total.jobs }));
}

/**
 * Milliseconds from the first to the last timeline entry of a job, and the part of it spent
 * between `from` and `to` (e.g. the processor's own work between `processing` and `processed`).
 * The rest is what the pipeline adds around the processor. Undefined when an event is missing.
 */
export function splitJobTime(
  timeline: readonly TimedEntry[],
  from: string,
  to: string,
): { totalMs: number; insideMs: number; outsideMs: number } | undefined {
  if (timeline.length < 2) return undefined;
  const start = timeline.find((entry) => entry.event === from);
  const end = timeline.find((entry) => entry.event === to);
  if (!start || !end) return undefined;
  const totalMs = Date.parse(timeline.at(-1)!.at) - Date.parse(timeline[0]!.at);
  const insideMs = Date.parse(end.at) - Date.parse(start.at);
  return { totalMs, insideMs, outsideMs: totalMs - insideMs };
}

/** "downloading → downloaded 41 ms · …" for the steps costing at least `minMs`, largest first. */
export function describeStepCosts(costs: readonly StepCost[], minMs = 1): string {
  return [...costs]
    .filter((cost) => cost.meanMs >= minMs)
    .sort((a, b) => b.meanMs - a.meanMs)
    .map((cost) => `${cost.step} ${cost.meanMs < 10 ? cost.meanMs.toFixed(1) : Math.round(cost.meanMs)} ms`)
    .join(" · ");
}

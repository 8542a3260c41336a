import { throwIfAborted, toMediaError, type MediaError } from "../errors.ts";
import type { ProcessContext } from "./processor.ts";

/**
 * A processor is a list of steps run by `runSteps` (imgproxy's pipeline). The runner owns what
 * every processor used to place by hand: the abort check between steps, monotonic progress, the
 * step's timeline entry, per-step timing and the error that leaves the processor. A step that
 * does not apply to a job returns early; a step may start work that a later step awaits (video's
 * poster beside its encode) and register `onFailure` so that work has ended before the error leaves.
 */
export interface Step<S> {
  /** What runs; also the label of the progress this step reports through `report`. */
  readonly name: string;
  /** The timeline event the step's detail is recorded under (e.g. `probed` for `probe`). */
  readonly entry?: string;
  /** The share of the job's 0–100 progress this step covers, for `report(fraction)`. */
  readonly span?: readonly [start: number, end: number];
  /** Returns the timeline detail, recorded under `entry` unless the step recorded it itself. */
  run(state: S, step: StepContext): Promise<StepDetail | void> | StepDetail | void;
}

export type StepDetail = Record<string, unknown>;

export interface StepContext {
  /** The job's context, whose `progress` is the runner's monotonic one. */
  readonly ctx: ProcessContext;
  /** Job progress in percent; a value not above the highest reported so far is dropped. */
  progress(percent: number, label?: string): void;
  /** `fraction` (0–1) of this step's span, rounded to 0.1 %, labelled with the step's name. */
  report(fraction: number): void;
  /** Records the step's timeline entry now (when what follows in the step may still throw). */
  record(detail: StepDetail): void;
  /** Runs `cleanup` when this or a later step fails, or the job aborts between steps, before the error leaves the runner. */
  onFailure(cleanup: (error: MediaError) => Promise<unknown> | void): void;
}

export interface StepTiming {
  name: string;
  startedAt: number;
  endedAt: number;
  elapsedMs: number;
}

/** Runs `steps` in order on `state`; resolves with each step's timing, or rejects with a MediaError. */
export async function runSteps<S>(ctx: ProcessContext, steps: readonly Step<S>[], state: S): Promise<StepTiming[]> {
  const progress = monotonicProgress(ctx);
  const jobCtx: ProcessContext = { ...ctx, progress };
  const cleanups: Array<(error: MediaError) => Promise<unknown> | void> = [];
  const timings: StepTiming[] = [];
  let current = steps[0]?.name;
  try {
    for (const [index, step] of steps.entries()) {
      current = step.name;
      // Between steps, not before the first: the pipeline checked just before calling the processor.
      if (index > 0) throwIfAborted(ctx.signal);
      const startedAt = Date.now();
      let recorded = false;
      const record = (detail: StepDetail) => {
        if (recorded || !step.entry) return;
        recorded = true;
        ctx.step(step.entry, detail);
      };
      const detail = await step.run(state, {
        ctx: jobCtx,
        progress,
        report: (fraction) => progress(spanPercent(step.span ?? [0, 100], fraction), step.name),
        record,
        onFailure: (cleanup) => void cleanups.push(cleanup),
      });
      if (detail) record(detail);
      const endedAt = Date.now();
      timings.push({ name: step.name, startedAt, endedAt, elapsedMs: endedAt - startedAt });
    }
  } catch (caught) {
    const error = toMediaError(caught);
    // Later registrations first: what a step started last is wound down first.
    for (const cleanup of cleanups.reverse()) await Promise.allSettled([Promise.resolve().then(() => cleanup(error))]);
    ctx.logger.debug({ step: current, code: error.code }, "step failed");
    throw error;
  }
  ctx.logger.debug({ steps: timings.map(({ name, elapsedMs }) => ({ name, elapsedMs })) }, "steps done");
  return timings;
}

/** Forwards only progress above the highest value seen, so overlapping or re-estimating steps never move it back. */
function monotonicProgress(ctx: ProcessContext): ProcessContext["progress"] {
  let last = -1;
  return (percent, label) => {
    if (!(percent > last)) return;
    last = percent;
    ctx.progress(percent, label);
  };
}

function spanPercent([start, end]: readonly [number, number], fraction: number): number {
  return Math.round((start + (end - start) * Math.min(1, Math.max(0, fraction))) * 10) / 10;
}

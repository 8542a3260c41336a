import type { JobRecord } from "../../src/jobs/job.model.ts";
import { manifestKey, outputKey, outputLayout, runPrefixes } from "../../src/storage/output-keys.ts";

/**
 * Where a finished job's outputs are: the layout of its run (src/storage/output-keys.ts), read
 * from the job record, so tests name outputs (`thumb_small.webp`) rather than spelling keys.
 */
export function runOf(job: JobRecord): string {
  const run = (job.result as { run?: unknown } | undefined)?.run;
  if (typeof run !== "string") throw new Error(`job ${job.id} has no run in its result (status ${job.status})`);
  return run;
}

export function outputKeyOf(job: JobRecord, name: string, outputSegment = "processed"): string {
  return outputKey(outputLayout(job.source.key, outputSegment, runOf(job)), name);
}

/** The source's stable manifest key (the same for every run). */
export function manifestKeyOf(sourceKey: string, outputSegment = "processed"): string {
  return manifestKey(outputLayout(sourceKey, outputSegment, "00000000"));
}

/** The run's flat-file and tree prefixes. */
export function runPrefixesOf(job: JobRecord, outputSegment = "processed"): [string, string] {
  return runPrefixes(outputLayout(job.source.key, outputSegment, runOf(job)));
}

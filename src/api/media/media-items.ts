import path from "node:path/posix";
import { z } from "zod";
import type { JobErrorInfo } from "../../errors.ts";
import type { JobRecord, JobStatus } from "../../jobs/job.model.ts";
import type { JobListItem, JobStore } from "../../jobs/job.store.ts";
import { outputSchema } from "../output-links.ts";
import { itemOutputUrl, objectUrl, type OutputUrlSigner } from "./output-urls.ts";

/**
 * A media item is what an application knows: a source key. Its state is the state of the job of
 * the key's latest upload (the newest job whose source is that key), read from the store's key
 * index; older versions' jobs stay listed under /api/media/jobs until they expire.
 */

/** At most this many key-index pages are read to find a key's newest job (each holds up to 200). */
const MAX_VERSION_PAGES = 5;

/** The newest job of exactly `key`, or undefined. */
export async function latestJobOf(store: JobStore, key: string): Promise<JobListItem | undefined> {
  let newest: JobListItem | undefined;
  let after: string | undefined;
  for (let page = 0; page < MAX_VERSION_PAGES; page++) {
    const found = await store.searchByKey({ key, limit: 200, ...(after !== undefined ? { after } : {}) });
    for (const job of found.jobs) if (!newest || job.createdAt > newest.createdAt) newest = job;
    if (found.resumeAfter === undefined) break;
    after = found.resumeAfter;
  }
  return newest;
}

/** Every job of exactly `key` (all its versions). */
export async function jobsOfKey(store: JobStore, key: string): Promise<JobListItem[]> {
  const jobs: JobListItem[] = [];
  let after: string | undefined;
  for (;;) {
    const found = await store.searchByKey({ key, limit: 200, ...(after !== undefined ? { after } : {}) });
    jobs.push(...found.jobs);
    if (found.resumeAfter === undefined) return jobs;
    after = found.resumeAfter;
  }
}

export const jobResultSchema = z.object({
  outputs: z.array(outputSchema),
  manifestKey: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  media: z.object({ kind: z.string().optional(), mime: z.string().optional() }).loose().optional(),
});
export type StoredOutput = z.infer<typeof outputSchema>;
export type JobResult = z.infer<typeof jobResultSchema>;

export function resultOf(job: JobRecord): JobResult | undefined {
  const parsed = jobResultSchema.safeParse(job.result);
  return parsed.success ? parsed.data : undefined;
}

/** HLS segments, init segments and rung playlists are reached through the master playlist, not listed. */
const HLS_INNER = new Set(["hls_segment", "hls_init", "hls_playlist"]);

export interface ItemOutput extends StoredOutput {
  url: string;
}

export interface MediaItem {
  key: string;
  bucket: string;
  jobId: string;
  type: string;
  status: JobStatus;
  progress: number;
  tenantId?: string;
  userId?: string;
  error?: JobErrorInfo;
  createdAt: string;
  finishedAt?: string;
  /** The outputs of the completed run (HLS inner files omitted: the master names them); empty before. */
  outputs: ItemOutput[];
  manifest: { key: string; url: string } | null;
}

export async function itemOf(
  job: JobRecord,
  signer: OutputUrlSigner,
  outputBucket: string | undefined,
): Promise<MediaItem> {
  const bucket = outputBucket ?? job.source.bucket;
  const result = job.status === "completed" ? resultOf(job) : undefined;
  const listed = (result?.outputs ?? []).filter((output) => !HLS_INNER.has(output.variant));
  const outputs = await Promise.all(
    listed.map(async (output) => ({ ...output, url: await itemOutputUrl(signer, bucket, job.source.key, output) })),
  );
  return {
    key: job.source.key,
    bucket: job.source.bucket,
    jobId: job.id,
    type: job.type,
    status: job.status,
    progress: job.progress,
    ...(job.tenantId !== undefined ? { tenantId: job.tenantId } : {}),
    ...(job.userId !== undefined ? { userId: job.userId } : {}),
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    outputs,
    manifest: result?.manifestKey
      ? { key: result.manifestKey, url: await objectUrl(signer, bucket, result.manifestKey) }
      : null,
  };
}

/** The folder of the run's HLS ladder (where master.m3u8 is), if it has one. */
export function hlsFolder(result: JobResult | undefined): string | undefined {
  const master = result?.outputs.find((output) => output.variant === "hls_master");
  return master ? path.dirname(master.key) : undefined;
}

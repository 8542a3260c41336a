import { z } from "zod";
import { bareETag, realVersionId } from "../s3-events/object-ref.ts";
import type { Logger } from "../logger.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { manifestKey, runPrefixes, sourceRunsPrefix, staleRunKeys, type OutputLayout } from "../storage/output-keys.ts";

/**
 * The last step of a job: make this run's outputs the source's current ones, or step aside.
 *
 * 1. The source is looked up again. If it changed while we worked (a newer upload of the same
 *    key), this run's outputs describe bytes nobody has any more: they are deleted and the
 *    manifest is left to the newer upload's own job (`superseded`).
 * 2. Otherwise the manifest is written at its stable key (no-cache), naming this run's outputs.
 * 3. Then the outputs of older runs are deleted: those the replaced manifest named, and any run
 *    older than a job can live (crashed or superseded runs). A failure here is logged, never
 *    fails the job: the outputs and manifest are already right. A first upload's first run (no
 *    manifest before it) skips the listing: there is nothing of its own to remove, and a crashed
 *    run of another job is swept by the next manifest that replaces one.
 */

/** What identifies the bytes a run processed, as S3 reported them. */
export interface SourceVersion {
  eTag: string | undefined;
  versionId: string | undefined;
}

export interface PublishRequest {
  objects: ObjectStore;
  outputBucket: string;
  source: { bucket: string; key: string };
  processed: SourceVersion;
  layout: OutputLayout;
  /** The job's attempt (1 on its first run). */
  attempt: number;
  outputSegment: string;
  /** The manifest document; its `run` field names the run. */
  manifest: Record<string, unknown>;
  /** A run whose first output is older than this has ended (PROCESSING_TIMEOUT plus a margin). */
  deadRunAgeMs: number;
  signal: AbortSignal;
  logger: Logger;
  step: (event: string, detail?: Record<string, unknown>) => void;
  /** Called as soon as the manifest names this run's outputs: from then on they are published, whatever fails after. */
  manifestWritten?: () => void;
}

export type PublishOutcome =
  | { kind: "current"; manifestKey: string; removedOldOutputs: number }
  | { kind: "superseded"; manifestKey: string; current: SourceVersion; removedOutputs: number };

const previousManifestSchema = z.looseObject({ run: z.looseObject({ token: z.string() }).optional() });

export async function publishOutputs(request: PublishRequest): Promise<PublishOutcome> {
  const { objects, outputBucket, source, layout, signal, step } = request;
  const key = manifestKey(layout);
  const head = await objects.head(source.bucket, source.key);
  const current: SourceVersion = { eTag: head.eTag, versionId: realVersionId(head.versionId) };
  if (!isSameVersion(request.processed, current)) {
    const removedOutputs = await deleteRunOutputs(objects, outputBucket, layout, signal);
    step("superseded", {
      reason: "the source was uploaded again while this job ran; its own job writes the manifest",
      current: { ...current },
      removedOutputs,
    });
    return { kind: "superseded", manifestKey: key, current, removedOutputs };
  }
  // Unreadable (no s3:GetObject on the outputs yet): then only runs older than a job can live are removed.
  const previousDocument = await objects.readJson(outputBucket, key, signal).catch((error: unknown) => {
    request.logger.warn(
      { err: error },
      "the previous manifest could not be read; its run's outputs stay until they are old enough to be swept",
    );
    return undefined;
  });
  const previous = previousManifestSchema.safeParse(previousDocument);
  await objects.upload({
    bucket: outputBucket,
    key,
    body: { buffer: JSON.stringify(request.manifest, null, 2) },
    contentType: "application/json",
    cacheControl: "no-cache",
    signal,
  });
  request.manifestWritten?.();
  step("manifest-written", { key, run: layout.run });
  const previousRun = previous.success ? previous.data.run?.token : undefined;
  if (previousRun === undefined && request.attempt === 1)
    return { kind: "current", manifestKey: key, removedOldOutputs: 0 };
  try {
    const listed = await objects.list(outputBucket, sourceRunsPrefix(layout), signal);
    const stale = staleRunKeys(listed, layout, request.outputSegment, previousRun, Date.now(), request.deadRunAgeMs);
    if (stale.length > 0) {
      await objects.deleteKeys(outputBucket, stale);
      step("old-outputs-removed", {
        count: stale.length,
        ...(previousRun && previousRun !== layout.run ? { previousRun } : {}),
      });
    }
    return { kind: "current", manifestKey: key, removedOldOutputs: stale.length };
  } catch (error) {
    request.logger.warn({ err: error }, "old outputs could not be removed; the next upload of this key removes them");
    step("old-outputs-kept", { reason: error instanceof Error ? error.message : String(error) });
    return { kind: "current", manifestKey: key, removedOldOutputs: 0 };
  }
}

/** Deletes every object one run wrote (a superseded or failed run). */
export async function deleteRunOutputs(
  objects: ObjectStore,
  bucket: string,
  layout: OutputLayout,
  signal?: AbortSignal,
): Promise<number> {
  const keys: string[] = [];
  for (const prefix of runPrefixes(layout))
    keys.push(...(await objects.list(bucket, prefix, signal)).map((item) => item.key));
  await objects.deleteKeys(bucket, keys);
  return keys.length;
}

/** A versioned object is named by its version id; an unversioned one only by its ETag. */
export function isSameVersion(processed: SourceVersion, current: SourceVersion): boolean {
  const processedVersion = realVersionId(processed.versionId);
  if (processedVersion) return processedVersion === realVersionId(current.versionId);
  if (!processed.eTag || !current.eTag) return true;
  return bareETag(processed.eTag) === bareETag(current.eTag);
}

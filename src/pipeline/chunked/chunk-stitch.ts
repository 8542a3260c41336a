import { randomUUID } from "node:crypto";
import type { AppConfig } from "../../config/config.ts";
import { processingError } from "../../errors.ts";
import type { JobListItem, JobStore } from "../../jobs/job.store.ts";
import type { Logger } from "../../logger.ts";
import type { OutputFile } from "../../processors/processor.ts";
import { AUDIO_GROUP_NAME } from "../../processors/video/chunk-command.ts";
import { encodeSourceOf } from "../../processors/video/chunk-plan.ts";
import { stitchTree, type PartRecord, type StitchedTree } from "../../processors/video/chunk-playlists.ts";
import { expectedOutputFps } from "../../processors/video/encode-options.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { cdnUrlOf, outputKey, type OutputLayout } from "../../storage/output-keys.ts";
import { publishOutputs } from "../publish-outputs.ts";
import { recordWithRetry } from "../record-with-retry.ts";
import type { ChunkStore, StoredPlan } from "./chunk.store.ts";

/** How much older than PROCESSING_TIMEOUT a run's outputs must be before another run may delete them (as the runner). */
const DEAD_RUN_MARGIN_MS = 5 * 60_000;
const PLAYLIST_TYPE = "application/vnd.apple.mpegurl";
const IMMUTABLE = "public, max-age=31536000, immutable";

export interface StitchRequest {
  config: AppConfig;
  store: JobStore;
  chunks: ChunkStore;
  objects: ObjectStore;
  stored: StoredPlan;
  job: JobListItem;
  layout: OutputLayout;
  bucket: string;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * The last task's work, no re-encoding: the rung and audio playlists from the recorded parts,
 * the master, then the job ends the way a one-pass job does — manifest published
 * (publish-outputs.ts), `complete` with the plan's lease token. `lost`: the job was no longer
 * ours to complete (cancelled or taken over meanwhile).
 */
export async function stitchJob(
  request: StitchRequest,
): Promise<{ kind: "completed"; outputs: number; publishedEarly: boolean } | { kind: "lost" }> {
  const { config, stored, layout, bucket, signal, logger, job } = request;
  const { plan } = stored;
  const parts = await request.chunks.parts(job.id);
  const videoParts = plan.chunks.map((chunk) => parts.get(`v${chunk.index}`) as PartRecord | undefined);
  const missing = videoParts.indexOf(undefined);
  if (missing >= 0)
    throw processingError("chunk-missing", `chunk ${missing} has no record although the set is complete`);
  const audioPart = parts.get("audio") as PartRecord | undefined;
  const stillsPart = parts.get("stills") as PartRecord | undefined;
  const publishedEarly = (await request.chunks.playableChunks(job.id)) > 0;
  const tree = stitchTree(
    plan,
    videoParts as PartRecord[],
    plan.audioKbps !== undefined ? audioPart : undefined,
    expectedOutputFps(encodeSourceOf(plan), plan.settings.maxFps),
    { ended: true, event: publishedEarly },
  );
  const outputs = await uploadTree(request, tree, IMMUTABLE);
  outputs.push(...(audioPart?.outputs ?? []), ...(stillsPart?.outputs ?? []));
  const masterKey = outputKey(layout, "hls/master.m3u8");
  const metadata = {
    durationSec: plan.source.durationSec,
    hasAudio: plan.audioKbps !== undefined,
    encode: { output: "hls", preset: plan.settings.x264Preset, chunked: true },
    hls: {
      keyPrefix: masterKey.slice(0, masterKey.length - "master.m3u8".length),
      segmentSeconds: plan.settings.segmentSeconds,
      keyframeSeconds: plan.settings.keyframeSeconds,
      segmentFormat: "mpegts",
      iFramePlaylists: [],
      audioGroup: plan.audioKbps !== undefined ? `${AUDIO_GROUP_NAME}/index.m3u8` : null,
      renditions: tree.renditions,
    },
    /** Which worker encoded which part, and when (the timeline has the same, entry by entry). */
    chunks: [
      ...plan.chunks.map((chunk, index) => ({
        index: chunk.index,
        startSec: chunk.startSec,
        endSec: chunk.endSec ?? plan.source.durationSec,
        workerId: videoParts[index]!.workerId,
        startedAt: new Date(videoParts[index]!.startedAt).toISOString(),
        endedAt: new Date(videoParts[index]!.endedAt).toISOString(),
      })),
      ...(
        [
          ["audio", audioPart],
          ["stills", stillsPart],
        ] as const
      ).flatMap(([index, part]) =>
        part
          ? [
              {
                index,
                workerId: part.workerId,
                startedAt: new Date(part.startedAt).toISOString(),
                endedAt: new Date(part.endedAt).toISOString(),
              },
            ]
          : [],
      ),
    ],
  };
  const step = (event: string, detail?: Record<string, unknown>) =>
    void request.store.appendTimeline(job.id, event, detail).catch(() => undefined);
  const manifest = {
    jobId: job.id,
    type: "video",
    source: { bucket: job.source.bucket, key: job.source.key, eTag: stored.eTag, versionId: stored.versionId },
    run: { token: layout.run, attempt: stored.attempt },
    media: stored.media,
    outputs,
    metadata,
    createdAt: new Date().toISOString(),
  };
  const published = await publishOutputs({
    objects: request.objects,
    outputBucket: bucket,
    source: { bucket: job.source.bucket, key: job.source.key },
    processed: { eTag: stored.eTag, versionId: stored.versionId },
    layout,
    attempt: stored.attempt,
    outputSegment: config.storage.outputSegment,
    manifest,
    deadRunAgeMs: config.jobs.processingTimeoutMs + DEAD_RUN_MARGIN_MS,
    signal,
    logger,
    step,
  });
  step("stitched", {
    chunks: plan.chunks.length,
    workers: [...new Set([...videoParts, audioPart, stillsPart].flatMap((part) => (part ? [part.workerId] : [])))],
    playlists: tree.files.length,
  });
  const result = {
    outputs: published.kind === "superseded" ? [] : outputs,
    metadata,
    manifestKey: published.manifestKey,
    type: "video",
    media: stored.media,
    run: layout.run,
    ...(published.kind === "superseded"
      ? { superseded: { by: published.current, removedOutputs: published.removedOutputs } }
      : {}),
  };
  if (!publishedEarly) step("playable", { chunks: plan.chunks.length, early: false });
  const completed = await recordWithRetry(
    () => request.store.complete(job.id, stored.leaseToken, result, stored.startedAt),
    signal,
  );
  return completed ? { kind: "completed", outputs: outputs.length, publishedEarly } : { kind: "lost" };
}

/** Rung playlists first, the master last: a player never finds a master whose playlists are not there yet. */
async function uploadTree(
  request: Pick<StitchRequest, "config" | "objects" | "layout" | "bucket" | "signal">,
  tree: StitchedTree,
  cacheControl: string,
): Promise<OutputFile[]> {
  const outputs: OutputFile[] = [];
  for (const file of tree.files) {
    const key = outputKey(request.layout, `hls/${file.name}`);
    const bytes = await request.objects.upload({
      bucket: request.bucket,
      key,
      body: { buffer: file.text },
      contentType: PLAYLIST_TYPE,
      cacheControl,
      signal: request.signal,
    });
    const rendition = tree.renditions.find((candidate) => file.name === `${candidate.name}/index.m3u8`);
    outputs.push({
      key,
      variant: file.name === "master.m3u8" ? "hls_master" : "hls_playlist",
      contentType: PLAYLIST_TYPE,
      bytes,
      ...(rendition ? { width: rendition.width, height: rendition.height, durationSec: rendition.durationSec } : {}),
      ...(request.config.storage.cdnBaseUrl ? { url: cdnUrlOf(request.config.storage.cdnBaseUrl, key) } : {}),
    });
  }
  return outputs;
}

/**
 * Playable early: once the audio and the first chunks (in order, at least one) are in, the
 * master and growing EVENT playlists of those chunks are published under the final keys
 * (no-cache: they change), each time a later chunk extends the run of leading chunks. One
 * publication at a time (a Redis lock; a task that finds it held skips — the next chunk, or
 * the stitch, publishes more); a shorter run never replaces a longer one. Returns the chunk
 * count published now, and whether it made the video playable (the first publication).
 */
export async function publishPlayable(request: StitchRequest): Promise<{ chunks: number; first: boolean } | undefined> {
  const { stored, job, chunks } = request;
  const { plan } = stored;
  const parts = await chunks.parts(job.id);
  const audioPart = parts.get("audio") as PartRecord | undefined;
  if (plan.audioKbps !== undefined && !audioPart) return undefined;
  let leading = 0;
  while (leading < plan.chunks.length && parts.has(`v${leading}`)) leading += 1;
  // None yet, or all: the complete tree is the stitch's.
  if (leading === 0 || leading === plan.chunks.length) return undefined;
  const token = randomUUID();
  if (!(await chunks.lock(job.id, "publish", token, 30_000))) return undefined;
  try {
    if (leading <= (await chunks.playableChunks(job.id))) return undefined;
    const videoParts = plan.chunks.slice(0, leading).map((chunk) => parts.get(`v${chunk.index}`) as PartRecord);
    const tree = stitchTree(
      plan,
      videoParts,
      plan.audioKbps !== undefined ? audioPart : undefined,
      expectedOutputFps(encodeSourceOf(plan), plan.settings.maxFps),
      { ended: false, event: true },
    );
    await uploadTree(request, tree, "no-cache");
    const first = await chunks.setPlayableChunks(job.id, leading);
    const seconds = plan.chunks[leading]?.startSec ?? plan.source.durationSec;
    void request.store
      .appendTimeline(job.id, first ? "playable" : "playable-extended", { chunks: leading, seconds, early: true })
      .catch(() => undefined);
    return { chunks: leading, first };
  } finally {
    await chunks.unlock(job.id, "publish", token).catch(() => undefined);
  }
}

import { mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../../config/config.ts";
import { processingError, throwIfAborted } from "../../errors.ts";
import type { JobListItem, JobStore } from "../../jobs/job.store.ts";
import type { Logger } from "../../logger.ts";
import { runFfmpeg } from "../../media/ffmpeg.runner.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { OutputFile } from "../../processors/processor.ts";
import {
  AUDIO_GROUP_NAME,
  audioRenditionArgs,
  CHUNK_PLAYLIST_NAME,
  chunkLadderArgs,
} from "../../processors/video/chunk-command.ts";
import type { PartRecord, StoredSegment } from "../../processors/video/chunk-playlists.ts";
import { h264CodecStringFromBytes, parseMediaPlaylist } from "../../processors/video/master-playlist.ts";
import { extractPoster } from "../../processors/video/poster.ts";
import { makeStoryboard } from "../../processors/video/storyboard.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { outputKey, type OutputLayout } from "../../storage/output-keys.ts";
import type { Receive } from "../outcome.ts";
import type { WrittenOutputs } from "../written-outputs.ts";
import type { ChunkTask } from "./chunk-task.ts";
import { PARTS_BESIDE_CHUNKS, type StoredPlan } from "./chunk.store.ts";
import { plannedSourceKey, type ChunkSourceCache } from "./source-cache.ts";

/**
 * The work of one part (chunk-task.ts), as the chunk runner calls it under the part's lease:
 * download the source into the task's temp dir (media tools only open local files), check it
 * is the planned one, run the part's ffmpeg (chunk-command.ts), judge it by its playlist,
 * upload its segments under the keys the plan fixes; the stills task makes the poster and storyboard.
 * Returns the part record the done-set keeps; outcomes are the runner's.
 */
export interface EncodeDeps {
  config: AppConfig;
  objects: ObjectStore;
  store: JobStore;
  metrics: Metrics;
  /** The worker's kept sources (VIDEO_CHUNK_SOURCE_CACHE_SECONDS); absent: every task downloads. */
  sources?: ChunkSourceCache;
}

/** What a task knows once it has looked its job up. */
export interface TaskContext {
  task: ChunkTask;
  part: string;
  stored: StoredPlan;
  job: JobListItem;
  layout: OutputLayout;
  bucket: string;
  receive: Receive;
  logger: Logger;
}

const UPLOAD_PARALLELISM = 6;
const SEGMENT_CONTENT_TYPE = "video/mp2t";
const IMMUTABLE = "public, max-age=31536000, immutable";

export async function encodePart(
  deps: EncodeDeps,
  context: TaskContext,
  run: { workDir: string; written: WrittenOutputs; signal: AbortSignal },
): Promise<PartRecord> {
  const { config, store } = deps;
  const { task, stored } = context;
  const { workDir, signal } = run;
  const { plan } = stored;
  const startedAt = Date.now();
  const chunk = task.part === "video" ? plan.chunks[task.chunkIndex] : undefined;
  if (task.part === "video" && !chunk)
    throw processingError("chunk-not-planned", `chunk ${task.chunkIndex} is not in the plan`);
  void store
    .appendTimeline(task.jobId, "chunk-started", {
      chunk: context.part,
      workerId: config.workerId,
      startSec: chunk?.startSec ?? 0,
      endSec: chunk ? (chunk.endSec ?? plan.source.durationSec) : plan.source.durationSec,
      receive: context.receive.receiveCount,
    })
    .catch(() => undefined);
  await mkdir(path.join(workDir, "hls"), { recursive: true });
  const names =
    task.part === "video"
      ? plan.rungs.map((rung) => rung.name)
      : task.part === "audio" && plan.audioKbps !== undefined
        ? [AUDIO_GROUP_NAME]
        : [];
  const stills = makesStills(task, stored);
  const inputPath = path.join(workDir, "input");
  // The audio task of a silent video has nothing to read.
  const source = names.length > 0 || stills ? await fetchSource(deps, context, inputPath, signal) : undefined;
  try {
    return await encodeFetched(deps, context, { ...run, inputPath, names, stills, chunk, startedAt });
  } finally {
    source?.release();
  }
}

/**
 * The source at `inputPath`: a link to the copy this worker keeps for the job when it has one,
 * else downloaded (and kept for the job's next task here). Either way the bytes are the planned
 * ones: a newer upload under the same key is its own job.
 */
async function fetchSource(
  deps: EncodeDeps,
  context: TaskContext,
  inputPath: string,
  signal: AbortSignal,
): Promise<{ release: () => void }> {
  const { config, objects, metrics } = deps;
  const { job, stored, task } = context;
  const assertPlanned = (found: { eTag: string | undefined; versionId: string | undefined }) => {
    if (stored.versionId ? found.versionId !== stored.versionId : stored.eTag && found.eTag !== stored.eTag)
      throw processingError("source-changed", "the source changed after the video was planned");
  };
  const download = async (file: string) =>
    assertPlanned(
      await objects.download(job.source.bucket, job.source.key, file, config.storage.maxInputBytes, signal),
    );
  const kept = plannedSourceKey(task.jobId, stored);
  if (!deps.sources || !kept) {
    await download(inputPath);
    metrics.chunkSourceFetches.inc({ source: "downloaded" });
    return { release: () => undefined };
  }
  const provided = await deps.sources.provide(kept, inputPath, download);
  metrics.chunkSourceFetches.inc({ source: provided.cached ? "kept" : "downloaded" });
  if (provided.cached) {
    // Kept bytes are the planned ones, but the task still answers to the object as it is now: an
    // upload that replaced it fails the job here as it would on a worker that downloads (one HEAD).
    try {
      assertPlanned(await objects.head(job.source.bucket, job.source.key));
    } catch (error) {
      provided.release();
      throw error;
    }
  }
  return provided;
}

async function encodeFetched(
  deps: EncodeDeps,
  context: TaskContext,
  run: {
    workDir: string;
    written: WrittenOutputs;
    signal: AbortSignal;
    inputPath: string;
    names: string[];
    stills: boolean;
    chunk: StoredPlan["plan"]["chunks"][number] | undefined;
    startedAt: number;
  },
): Promise<PartRecord> {
  const { config } = deps;
  const { task, stored, logger } = context;
  const { workDir, signal, inputPath, names, stills, chunk, startedAt } = run;
  const { plan } = stored;
  throwIfAborted(signal);
  const hlsDir = path.join(workDir, "hls");
  const segments: Record<string, StoredSegment[]> = {};
  const codecs: Record<string, string> = {};
  const outputs: OutputFile[] = [];
  // ffmpeg makes the rung folders of a var_stream_map itself, not the audio one.
  if (task.part === "audio") await mkdir(path.join(hlsDir, AUDIO_GROUP_NAME), { recursive: true });
  if (names.length > 0) {
    const args =
      task.part === "video"
        ? chunkLadderArgs({ inputPath, plan, chunkIndex: task.chunkIndex, outDir: hlsDir })
        : audioRenditionArgs({ inputPath, plan, outDir: hlsDir });
    const end = chunk ? (chunk.endSec ?? plan.source.durationSec) : plan.source.durationSec;
    await runFfmpeg({ args, durationSec: end - (chunk?.startSec ?? 0), signal });
  }
  for (const name of names) {
    const listed = parseMediaPlaylist(await readFile(path.join(hlsDir, name, CHUNK_PLAYLIST_NAME), "utf8"));
    // Judged by its files, not ffmpeg's exit code: a part without segments is a failed part.
    if (listed.segments.length === 0 || !listed.ended)
      throw processingError("chunk-no-segments", `ffmpeg wrote no segments for ${name} of ${context.part}`);
    segments[name] = [];
    for (const segment of listed.segments) {
      const file = path.join(hlsDir, name, segment.uri);
      const bytes = (await stat(file)).size;
      segments[name].push({ uri: segment.uri, durationSec: segment.durationSec, bytes });
    }
    if (task.part === "video") {
      const head = (await readFile(path.join(hlsDir, name, listed.segments[0]!.uri))).subarray(0, 64 * 1024);
      const codec = h264CodecStringFromBytes(head);
      if (codec) codecs[name] = codec;
    }
  }
  await uploadSegments(deps, context, hlsDir, segments, run);
  if (stills) outputs.push(...(await posterAndStoryboard(deps, context, inputPath, run)));
  logger.debug({ elapsedMs: Date.now() - startedAt }, "chunk encoded");
  return {
    segments,
    codecs,
    workerId: config.workerId,
    startedAt,
    endedAt: Date.now(),
    ...(outputs.length ? { outputs } : {}),
  };
}

/** The stills task makes the poster and storyboard; the audio task did under a plan stored before there was one. */
function makesStills(task: ChunkTask, stored: StoredPlan): boolean {
  if (task.part === "stills") return true;
  return task.part === "audio" && stored.total < stored.plan.chunks.length + PARTS_BESIDE_CHUNKS;
}

async function uploadSegments(
  deps: EncodeDeps,
  context: TaskContext,
  hlsDir: string,
  segments: Record<string, StoredSegment[]>,
  run: { written: WrittenOutputs; signal: AbortSignal },
): Promise<void> {
  const files = Object.entries(segments).flatMap(([name, list]) => list.map((segment) => `${name}/${segment.uri}`));
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const relative = files[next++]!;
      throwIfAborted(run.signal);
      const key = outputKey(context.layout, `hls/${relative}`);
      const bytes = await run.written.track(key, () =>
        deps.objects.upload({
          bucket: context.bucket,
          key,
          body: { file: path.join(hlsDir, ...relative.split("/")) },
          contentType: SEGMENT_CONTENT_TYPE,
          cacheControl: IMMUTABLE,
          signal: run.signal,
        }),
      );
      deps.metrics.bytesTotal.inc({ type: "video", direction: "out" }, bytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_PARALLELISM, files.length) }, worker));
}

/** The poster (and storyboard): a task of its own, so the audio task, which playback waits for, does not wait for them. */
async function posterAndStoryboard(
  deps: EncodeDeps,
  context: TaskContext,
  inputPath: string,
  run: { workDir: string; written: WrittenOutputs; signal: AbortSignal },
): Promise<OutputFile[]> {
  const { config } = deps;
  const { plan } = context.stored;
  const top = plan.rungs.at(-1)!;
  const poster = await extractPoster({
    inputPath,
    demuxer: plan.demuxer,
    videoStreamIndex: plan.source.videoStreamIndex,
    durationSec: plan.source.durationSec,
    positionPercent: config.video.posterPositionPercent,
    width: top.width,
    height: top.height,
    workDir: run.workDir,
    jpegQuality: config.image.jpegQuality,
    webpQuality: config.image.webpQuality,
    toneMap: plan.source.toneMap,
    bitDepth: plan.source.bitDepth,
    signal: run.signal,
  });
  const files: Array<{ name: string; variant: string; file: string; contentType: string; size?: boolean }> = [
    { name: "poster.jpg", variant: "poster", file: poster.jpeg, contentType: "image/jpeg", size: true },
    { name: "poster.webp", variant: "poster_webp", file: poster.webp, contentType: "image/webp", size: true },
  ];
  if (config.video.storyboard) {
    const storyboard = await makeStoryboard({
      inputPath,
      demuxer: plan.demuxer,
      videoStreamIndex: plan.source.videoStreamIndex,
      durationSec: plan.source.durationSec,
      displayWidth: plan.source.displayWidth,
      displayHeight: plan.source.displayHeight,
      workDir: run.workDir,
      toneMap: plan.source.toneMap,
      signal: run.signal,
    });
    files.push(
      {
        name: "storyboard/sprite.jpg",
        variant: "storyboard_sprite",
        file: storyboard.sprite,
        contentType: "image/jpeg",
      },
      { name: "storyboard/storyboard.vtt", variant: "storyboard_vtt", file: storyboard.vtt, contentType: "text/vtt" },
    );
  }
  const outputs: OutputFile[] = [];
  for (const file of files) {
    const key = outputKey(context.layout, file.name);
    const bytes = await run.written.track(key, () =>
      deps.objects.upload({
        bucket: context.bucket,
        key,
        body: { file: file.file },
        contentType: file.contentType,
        cacheControl: IMMUTABLE,
        signal: run.signal,
      }),
    );
    outputs.push({
      key,
      variant: file.variant,
      contentType: file.contentType,
      bytes,
      ...(file.size ? { width: poster.width, height: poster.height } : {}),
    });
  }
  return outputs;
}

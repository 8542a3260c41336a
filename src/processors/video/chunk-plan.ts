import { z } from "zod";
import type { AppConfig } from "../../config/config.ts";
import { planFrameRate, type VideoEncodeSettings, type VideoEncodeSource } from "./encode-options.ts";
import type { PlannedRung } from "./ladder-plan.ts";

/**
 * Segment-parallel (chunked) encoding, the decisions (pure): whether a video is chunked, where
 * its chunks start and end, and the plan every chunk task works from. The pipeline
 * (src/pipeline/chunked) stores the plan in Redis and sends one queue message per task; the
 * commands are in chunk-command.ts, the stitched playlists in chunk-playlists.ts.
 *
 * Chunk boundaries are multiples of the HLS segment length, itself a multiple of the keyframe
 * interval: every chunk starts a segment, every segment starts with a keyframe in every rung,
 * and no segment spans two chunks.
 */

export interface ChunkRange {
  index: number;
  startSec: number;
  /** Undefined for the last chunk: it runs to the end of the source. */
  endSec: number | undefined;
  /** Number of the chunk's first segment in every rung's playlist (startSec / segmentSeconds). */
  firstSegment: number;
}

/**
 * `chunkSeconds` rounded up to whole segments; chunks of that length, the last one taking what
 * is left. A remainder shorter than one segment joins the chunk before it (a tiny chunk costs a
 * whole ffmpeg start-up for a fraction of a segment). The first chunk is `firstSeconds` long
 * (whole segments, at most a chunk; 0 or absent: a chunk): the video is playable once it and
 * the audio are in. The last two chunks are re-cut into shrinking pieces (see shrinkTail), so
 * the fleet's last tasks are short and its workers finish together. Undefined when fewer than
 * two chunks of `chunkSeconds` would result — the short first chunk does not make a video
 * chunked: one pass is faster for short videos.
 */
export function planChunks(input: {
  durationSec: number | undefined;
  segmentSeconds: number;
  chunkSeconds: number;
  firstSeconds?: number;
}): ChunkRange[] | undefined {
  const { durationSec, segmentSeconds } = input;
  if (!(input.chunkSeconds > 0) || durationSec === undefined || !(durationSec > 0)) return undefined;
  const wholeSegments = (seconds: number) => Math.ceil(seconds / segmentSeconds) * segmentSeconds;
  const chunkSeconds = wholeSegments(input.chunkSeconds);
  if (chunkStarts(durationSec, segmentSeconds, chunkSeconds, chunkSeconds).length < 2) return undefined;
  const first = input.firstSeconds && input.firstSeconds > 0 ? wholeSegments(input.firstSeconds) : chunkSeconds;
  const starts = shrinkTail(
    chunkStarts(durationSec, segmentSeconds, Math.min(first, chunkSeconds), chunkSeconds),
    durationSec,
    segmentSeconds,
  );
  return starts.map((startSec, index) => ({
    index,
    startSec,
    endSec: index + 1 < starts.length ? starts[index + 1]! : undefined,
    firstSegment: startSec / segmentSeconds,
  }));
}

function chunkStarts(
  durationSec: number,
  segmentSeconds: number,
  firstSeconds: number,
  chunkSeconds: number,
): number[] {
  const starts = [0];
  for (let start = firstSeconds; start < durationSec; start += chunkSeconds) starts.push(start);
  if (starts.length > 1 && durationSec - starts.at(-1)! < segmentSeconds) starts.pop();
  return starts;
}

/**
 * Tasks are taken in order, so with equal chunks the last one often runs alone while the other
 * workers idle (a 150 s video in 30 s chunks on two workers: its last 24 s chunk ran alone for
 * ~34 s). The source of the last two chunks (never the first chunk, which playback waits for) is
 * cut again into pieces of about a half, a quarter and a quarter, in whole segments: the largest
 * is at most a chunk and goes first, and what runs alone at the end is a quarter of the tail.
 */
function shrinkTail(starts: number[], durationSec: number, segmentSeconds: number): number[] {
  if (starts.length < 3) return starts;
  const tailStart = starts.at(-2)!;
  const segments = Math.floor((durationSec - tailStart) / segmentSeconds + 1e-9);
  const first = Math.ceil(segments / 2);
  const rest = segments - first;
  const pieces = rest >= 2 ? [first, Math.ceil(rest / 2), Math.floor(rest / 2)] : rest === 1 ? [first, 1] : [first];
  const tail = [tailStart];
  for (const piece of pieces.slice(0, -1)) tail.push(tail.at(-1)! + piece * segmentSeconds);
  return [...starts.slice(0, -2), ...tail];
}

/**
 * Why a video is encoded in one pass although chunking is on (undefined: it can be chunked).
 * Each is a case the chunked path does not reproduce exactly (docs/chunked-video.md).
 */
export function chunkingUnsupported(
  config: AppConfig,
  source: Pick<VideoEncodeSource, "fps" | "baseFps" | "audioStreamIndex">,
): string | undefined {
  const video = config.video;
  if (!video.hlsEnabled) return "web MP4 output (HLS off)";
  if (video.segmentFormat !== "mpegts") return "fMP4 segments (each chunk would write its own init segment)";
  if (video.contentAwareLadder) return "content-aware ladder (its probe encode samples the whole clip)";
  if (config.quality.scores) return "quality scores (scored on the one-pass renditions)";
  if (planFrameRate(source, video.maxFps).mode === "vfr")
    return "variable frame rate (frames keep their own times across the cut)";
  if (source.audioStreamIndex === undefined && video.addSilentAudio) return "silent audio track added";
  return undefined;
}

/** The settings the chunk commands are built with (the same as the one-pass ladder's). */
export type ChunkEncodeSettings = VideoEncodeSettings;

const rungSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,32}$/i),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    videoKbps: z.number().positive(),
    maxrateKbps: z.number().positive(),
    bufsizeKbps: z.number().positive(),
    audioKbps: z.number().positive(),
    native: z.boolean(),
    crf: z.number().optional(),
  })
  .strict();

const toneMapSchema = z
  .object({
    hdr: z.enum(["pq", "hlg"]),
    primaries: z.string(),
    matrix: z.string(),
    range: z.enum(["tv", "pc"]),
  })
  .strict();

/**
 * Everything a chunk task needs besides the source file, fixed once by the planner so every
 * task (on any worker, on any redelivery) builds the same command and writes the same keys.
 */
export const chunkPlanSchema = z
  .object({
    version: z.literal(1),
    demuxer: z.string().regex(/^[a-z0-9_]+$/),
    source: z
      .object({
        videoStreamIndex: z.number().int().nonnegative(),
        audioStreamIndex: z.number().int().nonnegative().optional(),
        fps: z.number().positive().optional(),
        baseFps: z.number().positive().optional(),
        durationSec: z.number().positive(),
        toneMap: toneMapSchema.optional(),
        displayWidth: z.number().int().positive(),
        displayHeight: z.number().int().positive(),
        bitDepth: z.number().int().positive().optional(),
      })
      .strict(),
    rungs: z.array(rungSchema).min(1).max(16),
    settings: z
      .object({
        x264Preset: z.string().regex(/^[a-z]+$/),
        maxFps: z.number().positive(),
        segmentSeconds: z.number().positive(),
        keyframeSeconds: z.number().positive(),
        addSilentAudio: z.boolean(),
      })
      .strict(),
    /** Audio rendition bitrate (kbit/s); absent when the source has no audio. */
    audioKbps: z.number().positive().optional(),
    chunks: z
      .array(
        z
          .object({
            index: z.number().int().nonnegative(),
            startSec: z.number().nonnegative(),
            endSec: z.number().positive().optional(),
            firstSegment: z.number().int().nonnegative(),
          })
          .strict(),
      )
      .min(2)
      .max(10_000),
  })
  .strict();

export type ChunkPlan = z.infer<typeof chunkPlanSchema>;

/** The plan's source as the shared encode options read it. */
export function encodeSourceOf(plan: ChunkPlan): VideoEncodeSource {
  const { source } = plan;
  return {
    videoStreamIndex: source.videoStreamIndex,
    audioStreamIndex: source.audioStreamIndex,
    fps: source.fps,
    baseFps: source.baseFps,
    durationSec: source.durationSec,
    toneMap: source.toneMap,
  };
}

export function buildChunkPlan(input: {
  demuxer: string;
  source: VideoEncodeSource;
  display: { width: number; height: number; bitDepth: number | undefined };
  rungs: readonly PlannedRung[];
  settings: ChunkEncodeSettings;
  chunks: readonly ChunkRange[];
}): ChunkPlan {
  const { source } = input;
  const top = input.rungs.at(-1)!;
  return chunkPlanSchema.parse({
    version: 1,
    demuxer: input.demuxer,
    source: {
      videoStreamIndex: source.videoStreamIndex,
      ...(source.audioStreamIndex !== undefined ? { audioStreamIndex: source.audioStreamIndex } : {}),
      ...(source.fps !== undefined ? { fps: source.fps } : {}),
      ...(source.baseFps !== undefined ? { baseFps: source.baseFps } : {}),
      durationSec: source.durationSec,
      ...(source.toneMap ? { toneMap: source.toneMap } : {}),
      displayWidth: input.display.width,
      displayHeight: input.display.height,
      ...(input.display.bitDepth !== undefined ? { bitDepth: input.display.bitDepth } : {}),
    },
    rungs: input.rungs.map((rung) => ({ ...rung })),
    settings: {
      x264Preset: input.settings.x264Preset,
      maxFps: input.settings.maxFps,
      segmentSeconds: input.settings.segmentSeconds,
      keyframeSeconds: input.settings.keyframeSeconds,
      addSilentAudio: input.settings.addSilentAudio,
    },
    ...(source.audioStreamIndex !== undefined ? { audioKbps: top.audioKbps } : {}),
    chunks: input.chunks.map((chunk) => ({
      index: chunk.index,
      startSec: chunk.startSec,
      ...(chunk.endSec !== undefined ? { endSec: chunk.endSec } : {}),
      firstSegment: chunk.firstSegment,
    })),
  });
}

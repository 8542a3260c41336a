import path from "node:path";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import {
  aacOptions,
  frameRateOptions,
  keyframeOptions,
  MUXING_QUEUE,
  planFrameRate,
  rungRateOptions,
  STRIP_METADATA,
  videoFilterGraph,
  x264Options,
} from "./encode-options.ts";
import { encodeSourceOf, type ChunkPlan } from "./chunk-plan.ts";
import { BT709_TAGS } from "./tone-map.ts";

/**
 * The chunk tasks' ffmpeg commands (pure), built from the pieces the one-pass ladder uses
 * (encode-options.ts), so a chunk's frames are encoded exactly as one pass would encode them.
 *
 * Timestamps: every output gets `-output_ts_offset start + TIMELINE_OFFSET_SEC`. The chunk's
 * own clock starts at 0 (input seek), so its keyframe grid (`force_key_frames` on t) lands on
 * the global grid, and the offset puts its packets where one pass would have. The constant
 * second keeps chunk 0's first decode timestamps (B-frame reorder delay: negative DTS) above
 * zero, so no muxer shifts chunk 0 alone; the audio task gets the same constant, which keeps
 * audio and video in step.
 */
export const TIMELINE_OFFSET_SEC = 1;

export const CHUNK_PLAYLIST_NAME = "chunk.m3u8";

/** `-output_ts_offset` as ffmpeg reads it (seconds, milliseconds precision). */
function offsetArg(startSec: number): string {
  return (startSec + TIMELINE_OFFSET_SEC).toFixed(3);
}

/**
 * One chunk, every rung, one decode: input seek to the chunk's start (accurate: frames before
 * it are decoded and dropped), `-t` to its end, split and scale per rung, video only (audio is
 * its own task). Segments are numbered from the chunk's first global segment, so their names
 * are the keys they are stored under; `<outDir>/<rung>/chunk.m3u8` lists their durations.
 */
export function chunkLadderArgs(input: {
  inputPath: string;
  plan: ChunkPlan;
  chunkIndex: number;
  outDir: string;
}): string[] {
  const { plan } = input;
  const chunk = plan.chunks[input.chunkIndex];
  if (!chunk) throw new Error(`chunk ${input.chunkIndex} is not in the plan`);
  const source = encodeSourceOf(plan);
  const settings = plan.settings;
  const rungs = plan.rungs;
  const maps: string[] = [];
  const perStream: string[] = [];
  const streamMap: string[] = [];
  rungs.forEach((rung, index) => {
    maps.push("-map", `[v${index}]`);
    perStream.push(...rungRateOptions(rung, index));
    streamMap.push(`v:${index},name:${rung.name}`);
  });
  const frameRate = planFrameRate(source, settings.maxFps);
  const seek = chunk.startSec > 0 ? ["-ss", chunk.startSec.toFixed(3)] : [];
  const length = chunk.endSec !== undefined ? ["-t", (chunk.endSec - chunk.startSec).toFixed(3)] : [];
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: plan.demuxer, before: seek }),
    ...length,
    "-filter_complex",
    videoFilterGraph(source, rungs, settings, 0),
    ...maps,
    ...STRIP_METADATA,
    ...x264Options(settings.x264Preset),
    ...(source.toneMap ? BT709_TAGS : []),
    ...frameRateOptions(frameRate),
    ...keyframeOptions(settings.keyframeSeconds, frameRate.fps),
    ...perStream,
    ...MUXING_QUEUE,
    "-output_ts_offset",
    offsetArg(chunk.startSec),
    "-f",
    "hls",
    "-hls_time",
    String(settings.segmentSeconds),
    "-hls_playlist_type",
    "vod",
    "-hls_flags",
    "independent_segments",
    "-hls_segment_type",
    "mpegts",
    "-start_number",
    String(chunk.firstSegment),
    "-hls_segment_filename",
    path.join(input.outDir, "%v", "segment_%05d.ts"),
    "-var_stream_map",
    streamMap.join(" "),
    "-y",
    path.join(input.outDir, "%v", CHUNK_PLAYLIST_NAME),
  ];
}

/** Folder of the audio rendition group in the HLS tree. */
export const AUDIO_GROUP_NAME = "audio";

/**
 * The whole file's audio, once, as its own HLS rendition (`audio/index.m3u8`): AAC frames run
 * unbroken across every chunk boundary (chunked audio clicks at the joins: encoder delay).
 */
export function audioRenditionArgs(input: { inputPath: string; plan: ChunkPlan; outDir: string }): string[] {
  const { plan } = input;
  if (plan.source.audioStreamIndex === undefined || plan.audioKbps === undefined)
    throw new Error("the plan has no audio to encode");
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: plan.demuxer }),
    "-map",
    `0:${plan.source.audioStreamIndex}`,
    ...STRIP_METADATA,
    ...aacOptions(),
    "-b:a",
    `${plan.audioKbps}k`,
    "-output_ts_offset",
    offsetArg(0),
    "-f",
    "hls",
    "-hls_time",
    String(plan.settings.segmentSeconds),
    "-hls_playlist_type",
    "vod",
    "-hls_segment_type",
    "mpegts",
    "-hls_segment_filename",
    path.join(input.outDir, AUDIO_GROUP_NAME, "segment_%05d.ts"),
    "-y",
    path.join(input.outDir, AUDIO_GROUP_NAME, CHUNK_PLAYLIST_NAME),
  ];
}

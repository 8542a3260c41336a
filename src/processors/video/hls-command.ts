import path from "node:path";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import {
  aacOptions,
  FRAME_BRANCH_LABEL,
  keyframeOptions,
  MUXING_QUEUE,
  frameRateOptions,
  planFrameRate,
  rungRateOptions,
  STRIP_METADATA,
  videoFilterGraph,
  x264Options,
  type FrameBranch,
  type VideoEncodeSettings,
  type VideoEncodeSource,
} from "./encode-options.ts";
import type { PlannedRung } from "./ladder-plan.ts";
import { BT709_TAGS } from "./tone-map.ts";

/**
 * The one-pass HLS ladder command (pure): one ffmpeg process decodes the source once, splits
 * the frames, encodes every rung and writes one media playlist + segments per rung through
 * `-var_stream_map`. The master playlist is written afterwards by master-playlist.ts, from the
 * measured segments (ffmpeg's own lacks AVERAGE-BANDWIDTH and FRAME-RATE).
 */
export interface HlsCommandInput {
  inputPath: string;
  /** Whitelisted demuxer chosen from the probe (`mov`, `matroska`, …). */
  demuxer: string | undefined;
  source: VideoEncodeSource;
  rungs: readonly PlannedRung[];
  settings: VideoEncodeSettings & { segmentFormat: "mpegts" | "fmp4" };
  /** Also encode an audio-only rendition at this bitrate (kbit/s); needs source audio. */
  audioOnlyKbps: number | undefined;
  /** Directory receiving `<rung>/index.m3u8` and segments. */
  outDir: string;
  /**
   * Also write one frame of the same decode as a PNG, for the poster (a second output of the
   * run, after the HLS one): nothing is written when no frame reaches `atSec` (see FrameBranch).
   */
  posterFrame?: (FrameBranch & { outFile: string }) | undefined;
}

/** Folder and name of the audio-only rendition. */
export const AUDIO_ONLY_NAME = "audio";
export const MEDIA_PLAYLIST_NAME = "index.m3u8";

export function hlsLadderArgs(input: HlsCommandInput): string[] {
  const { source, rungs, settings } = input;
  const hasSourceAudio = source.audioStreamIndex !== undefined;
  const silent = !hasSourceAudio && settings.addSilentAudio;
  const withAudio = hasSourceAudio || silent;
  const audioOnly = hasSourceAudio && input.audioOnlyKbps !== undefined;
  const silentCount = silent ? rungs.length : 0;

  const maps: string[] = [];
  const perStream: string[] = [];
  const streamMap: string[] = [];
  rungs.forEach((rung, index) => {
    maps.push("-map", `[v${index}]`);
    perStream.push(...rungRateOptions(rung, index));
    if (withAudio) {
      maps.push("-map", silent ? `[a${index}]` : `0:${source.audioStreamIndex}`);
      perStream.push(`-b:a:${index}`, `${rung.audioKbps}k`);
      streamMap.push(`v:${index},a:${index},name:${rung.name}`);
    } else {
      streamMap.push(`v:${index},name:${rung.name}`);
    }
  });
  if (audioOnly) {
    maps.push("-map", `0:${source.audioStreamIndex}`);
    perStream.push(`-b:a:${rungs.length}`, `${input.audioOnlyKbps}k`);
    streamMap.push(`a:${rungs.length},name:${AUDIO_ONLY_NAME}`);
  }

  const fmp4 = settings.segmentFormat === "fmp4";
  const frameRate = planFrameRate(source, settings.maxFps);
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: input.demuxer }),
    "-filter_complex",
    videoFilterGraph(source, rungs, settings, silentCount, input.posterFrame),
    ...maps,
    ...STRIP_METADATA,
    ...x264Options(settings.x264Preset),
    ...(source.toneMap ? BT709_TAGS : []),
    ...frameRateOptions(frameRate),
    ...keyframeOptions(settings.keyframeSeconds, frameRate.fps),
    ...(withAudio ? aacOptions() : []),
    ...perStream,
    ...MUXING_QUEUE,
    "-f",
    "hls",
    "-hls_time",
    String(settings.segmentSeconds),
    "-hls_playlist_type",
    "vod",
    // temp_file: each segment is written as `<name>.tmp` and renamed when closed, so a segment
    // under its final name is complete and can be uploaded while ffmpeg writes the next one
    // (hls-segment-uploader.ts). The bytes are the same as without it.
    "-hls_flags",
    "independent_segments+temp_file",
    "-hls_segment_type",
    settings.segmentFormat,
    ...(fmp4 ? ["-hls_fmp4_init_filename", "init.mp4"] : []),
    "-hls_segment_filename",
    path.join(input.outDir, "%v", `segment_%05d.${fmp4 ? "m4s" : "ts"}`),
    "-var_stream_map",
    streamMap.join(" "),
    "-y",
    path.join(input.outDir, "%v", MEDIA_PLAYLIST_NAME),
    ...(input.posterFrame ? posterFrameOutput(input.posterFrame.outFile) : []),
  ];
}

/** The second output of a ladder run: the frame branch as one PNG (ffmpeg exits 0 and writes nothing when the branch got no frame). */
function posterFrameOutput(outFile: string): string[] {
  return [
    "-map",
    `[${FRAME_BRANCH_LABEL}]`,
    ...STRIP_METADATA,
    "-frames:v",
    "1",
    "-update",
    "1",
    "-c:v",
    "png",
    // One encoder thread: a frame-threaded PNG encoder holds its one frame until it is flushed,
    // which ffmpeg 5.1 does only when the whole run ends, so the poster waited for the ladder (issue 20).
    "-threads:v",
    "1",
    "-f",
    "image2",
    // Written as a temporary file and renamed: under its final name the PNG is complete, so the poster is made while the encode goes on.
    "-atomic_writing",
    "1",
    "-y",
    outFile,
  ];
}

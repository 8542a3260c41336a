import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import {
  aacOptions,
  keyframeOptions,
  MUXING_QUEUE,
  frameRateOptions,
  planFrameRate,
  STRIP_METADATA,
  videoFilterGraph,
  x264Options,
  type VideoEncodeSettings,
  type VideoEncodeSource,
} from "./encode-options.ts";
import type { PlannedRung } from "./ladder-plan.ts";
import { BT709_TAGS } from "./tone-map.ts";

/**
 * The web MP4 used when HLS is off (pure): the top rung's size, H.264 + AAC, `faststart`
 * so playback starts before the whole file has downloaded. Rate control is capped CRF: quality
 * driven, with the rung's maxrate as a ceiling, since one progressive file has no ladder to fall back on.
 */
export interface Mp4CommandInput {
  inputPath: string;
  demuxer: string | undefined;
  source: VideoEncodeSource;
  rung: PlannedRung;
  settings: VideoEncodeSettings;
  outFile: string;
}

export const WEB_MP4_CRF = 23;

export function webMp4Args(input: Mp4CommandInput): string[] {
  const { source, rung, settings } = input;
  const hasSourceAudio = source.audioStreamIndex !== undefined;
  const silent = !hasSourceAudio && settings.addSilentAudio;
  const frameRate = planFrameRate(source, settings.maxFps);
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: input.demuxer }),
    "-filter_complex",
    videoFilterGraph(source, [rung], settings, silent ? 1 : 0),
    "-map",
    "[v0]",
    ...(hasSourceAudio ? ["-map", `0:${source.audioStreamIndex}`] : silent ? ["-map", "[a0]"] : []),
    ...STRIP_METADATA,
    ...x264Options(settings.x264Preset),
    ...(source.toneMap ? BT709_TAGS : []),
    "-crf",
    String(WEB_MP4_CRF),
    "-maxrate",
    `${rung.maxrateKbps}k`,
    "-bufsize",
    `${rung.bufsizeKbps}k`,
    ...frameRateOptions(frameRate),
    ...keyframeOptions(settings.keyframeSeconds, frameRate.fps),
    ...(hasSourceAudio || silent ? [...aacOptions(), "-b:a", `${rung.audioKbps}k`] : []),
    ...MUXING_QUEUE,
    "-movflags",
    "+faststart",
    "-f",
    "mp4",
    "-y",
    input.outFile,
  ];
}

import type { DetectedMedia } from "./detected-media.ts";
import { probeMedia, type MediaProbe, type ProbeOptions } from "./ffprobe.ts";

/**
 * Magic numbers cannot tell an audio-only MP4/M4A, WebM, Matroska or Ogg file from a video one:
 * the container is the same. This asks ffprobe which streams are really there and corrects the
 * kind before the registry picks a processor. Cover art (an attached picture) is not video.
 */

/** Formats from detect-type.ts whose kind only a probe can settle. */
const AMBIGUOUS_FORMATS = new Set([
  "mp4",
  "mov",
  "3gp",
  "m4a",
  "webm",
  "matroska",
  "ogg",
  "asf",
  "flv",
  "mpeg",
  "mpegts",
]);

const AUDIO_MIME_BY_FORMAT: Record<string, string> = {
  mp4: "audio/mp4",
  mov: "audio/mp4",
  "3gp": "audio/3gpp",
  m4a: "audio/mp4",
  webm: "audio/webm",
  matroska: "audio/x-matroska",
  ogg: "audio/ogg",
  asf: "audio/x-ms-wma",
  flv: "audio/x-flv",
  mpeg: "audio/mpeg",
  mpegts: "audio/mp2t",
};

const VIDEO_MIME_BY_FORMAT: Record<string, string> = {
  mp4: "video/mp4",
  m4a: "video/mp4",
  mov: "video/quicktime",
  "3gp": "video/3gpp",
  webm: "video/webm",
  matroska: "video/x-matroska",
  ogg: "video/ogg",
  asf: "video/x-ms-asf",
  flv: "video/x-flv",
  mpeg: "video/mpeg",
  mpegts: "video/mp2t",
};

/**
 * Returns the media with its kind settled by a probe: `audio` when there is audio but no real
 * video stream, `video` when there is a real video stream. Media of other kinds or unambiguous
 * formats is returned unchanged without running ffprobe. The probe summary is kept in
 * `details.probe`. Throws the probe's MediaError (e.g. `no-streams`, `format-refused`).
 */
export async function refineMediaKind(
  inputPath: string,
  media: DetectedMedia,
  options: ProbeOptions = {},
): Promise<DetectedMedia> {
  if ((media.kind !== "video" && media.kind !== "audio") || !AMBIGUOUS_FORMATS.has(media.format)) return media;
  const probe = await probeMedia(inputPath, options);
  return refineWithProbe(media, probe);
}

/** The pure half of {@link refineMediaKind}. */
export function refineWithProbe(media: DetectedMedia, probe: MediaProbe): DetectedMedia {
  const details = { ...media.details, probe };
  if (probe.video) {
    return {
      ...media,
      kind: "video",
      mime: media.kind === "video" ? media.mime : (VIDEO_MIME_BY_FORMAT[media.format] ?? media.mime),
      details,
    };
  }
  if (probe.audio) {
    return {
      ...media,
      kind: "audio",
      mime: media.kind === "audio" ? media.mime : (AUDIO_MIME_BY_FORMAT[media.format] ?? media.mime),
      details,
    };
  }
  return { ...media, details };
}

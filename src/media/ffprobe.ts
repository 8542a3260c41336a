import { z } from "zod";
import { processingError } from "../errors.ts";
import { classifyToolFailure } from "./ffmpeg.runner.ts";
import { MEDIA_DEMUXERS, PLAYLIST_DEMUXERS, demuxerForProbedFormat, safeInputArgs } from "./safe-input.ts";
import { runTool } from "./tool-process.ts";

/**
 * ffprobe with JSON output (`-show_format -show_streams`), parsed with zod into a typed,
 * summarised {@link MediaProbe}. Same input rules as ffmpeg: only the local file, only the
 * whitelisted demuxers. A probe that succeeds with zero streams is a `processing` error.
 */

/** ffprobe prints most numbers as strings and "N/A" when unknown. */
const numeric = z
  .union([z.string(), z.number()])
  .optional()
  .transform((value) => {
    if (value === undefined || value === "" || value === "N/A") return undefined;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  });

const tagsSchema = z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional();

const streamSchema = z.object({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  /** The container's four-character code for the stream (`avc1`, `alac`); what names a codec ffmpeg has no decoder for. */
  codec_tag_string: z.string().optional(),
  profile: z.string().optional(),
  level: z.number().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  sample_aspect_ratio: z.string().optional(),
  pix_fmt: z.string().optional(),
  bits_per_raw_sample: numeric.optional(),
  color_range: z.string().optional(),
  color_space: z.string().optional(),
  color_transfer: z.string().optional(),
  color_primaries: z.string().optional(),
  r_frame_rate: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  duration: numeric,
  /** The duration in the stream's time base; all ones (2^32−1, 2^64−1) is ISO-BMFF's "unknown". */
  duration_ts: numeric,
  bit_rate: numeric,
  nb_frames: numeric,
  /** Only with `-count_packets`: packets the probe demuxed (every frame of a segment). */
  nb_read_packets: numeric,
  sample_rate: numeric,
  channels: z.number().int().optional(),
  channel_layout: z.string().optional(),
  disposition: z.object({ attached_pic: z.number().optional() }).partial().optional(),
  tags: tagsSchema,
  side_data_list: z
    .array(z.object({ side_data_type: z.string().optional(), rotation: z.number().optional() }))
    .optional(),
});

/** The raw shape of `ffprobe -print_format json -show_format -show_streams` we rely on. */
export const ffprobeOutputSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z
    .object({
      format_name: z.string(),
      format_long_name: z.string().optional(),
      duration: numeric,
      bit_rate: numeric,
      size: numeric,
      tags: tagsSchema,
    })
    .optional(),
});
export type FfprobeOutput = z.infer<typeof ffprobeOutputSchema>;
type RawStream = FfprobeOutput["streams"][number];

export interface VideoStreamProbe {
  index: number;
  /** ffprobe's codec_name; `unknown` when this build has no decoder for it (see {@link assertDecodable}). */
  codec: string;
  /** The container's code for the codec (`avc1`, `[27][0][0][0]`), kept to name an unknown codec. */
  codecTag: string | undefined;
  profile: string | undefined;
  level: number | undefined;
  /** Stored (coded) frame size. */
  width: number;
  height: number;
  /** Size as displayed: rotation applied (90/270 swap the sides) and non-square pixels stretched. */
  displayWidth: number;
  displayHeight: number;
  /** Clockwise rotation a player applies, from the display matrix or the legacy `rotate` tag. */
  rotationDeg: 0 | 90 | 180 | 270;
  /** Sample (pixel) aspect ratio, 1 for square pixels. */
  sampleAspectRatio: number;
  /** Average frame rate, falling back to the stream's base rate. */
  fps: number | undefined;
  /** The rate as ffprobe wrote it (`30000/1001`), for exact output. */
  frameRate: string | undefined;
  /**
   * The stream's base rate (r_frame_rate), the finest cadence of its timestamps: equal to `fps`
   * for constant-rate video, well above it for variable-rate phone video and screen recordings.
   */
  baseFps: number | undefined;
  pixelFormat: string | undefined;
  /** Bits per colour sample (8, 10, 12…), from `bits_per_raw_sample` or the pixel format's name. */
  bitDepth: number | undefined;
  /** Colour tags as ffprobe names them (`bt2020`, `smpte2084`, `arib-std-b67`, `bt2020nc`, `tv`); undefined when untagged. */
  colorPrimaries: string | undefined;
  colorTransfer: string | undefined;
  colorSpace: string | undefined;
  colorRange: string | undefined;
  /**
   * High dynamic range by its transfer function: `pq` (SMPTE ST 2084: HDR10, HDR10+, Dolby
   * Vision 8.1) or `hlg` (ARIB STD-B67: iPhone HDR, Dolby Vision 8.4). Untagged is never HDR.
   */
  hdr: HdrTransfer | undefined;
  bitRate: number | undefined;
  frameCount: number | undefined;
  /** Packets demuxed by a probe run with `countPackets` (one per frame for H.264). */
  packetCount: number | undefined;
  durationSec: number | undefined;
}

export type HdrTransfer = "pq" | "hlg";

export interface AudioStreamProbe {
  index: number;
  codec: string;
  codecTag: string | undefined;
  profile: string | undefined;
  channels: number | undefined;
  channelLayout: string | undefined;
  sampleRate: number | undefined;
  bitRate: number | undefined;
  durationSec: number | undefined;
}

export interface MediaProbe {
  format: {
    /** ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
    name: string;
    longName: string | undefined;
    /** The whitelisted demuxer to name with `-f` in later runs (`mov`, `matroska`, …). */
    demuxer: string | undefined;
    durationSec: number | undefined;
    bitRate: number | undefined;
    sizeBytes: number | undefined;
    tags: Record<string, string>;
  };
  /** The first video stream that is real video (cover art pictures excluded). */
  video: VideoStreamProbe | undefined;
  /** The first audio stream. */
  audio: AudioStreamProbe | undefined;
  /** Video streams that are attached pictures (cover art), which are not video. */
  attachedPictureCount: number;
  /**
   * Best known duration: the container's, else the longest stream's. Undefined when the file
   * does not know it: raw streams, and headers that say "unknown" with an all-ones value (a
   * fragmented MP4 from a live or streaming writer), which ffprobe would report as 143166 s.
   */
  durationSec: number | undefined;
  /** True when a header stated its duration as unknown (all ones); the figures ffprobe derived from it are dropped. */
  durationUnknown: boolean;
  streams: Array<{ index: number; type: string; codec: string | undefined }>;
}

export interface ProbeOptions {
  signal?: AbortSignal | undefined;
  /** Default 60 s: a probe reads headers only, so a slow one means a pathological file. */
  timeoutMs?: number | undefined;
  /** Demuxers the file may be opened with. Default: every media demuxer we accept. */
  demuxers?: readonly string[] | undefined;
  /** ffprobe executable. Default: `ffprobe` on PATH. */
  binary?: string | undefined;
  /** Also demux the whole input and count each stream's packets (for small files: one HLS segment). */
  countPackets?: boolean | undefined;
}

/** The argument array of a probe (pure; tested exactly). */
export function ffprobeArgs(
  inputPath: string,
  demuxers: readonly string[] = MEDIA_DEMUXERS,
  options: { countPackets?: boolean | undefined } = {},
): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    ...(options.countPackets ? ["-count_packets"] : []),
    ...safeInputArgs(inputPath, { demuxers }),
  ];
}

const MAX_PROBE_JSON_BYTES = 8 * 1024 * 1024;

/** Probes a local file. Throws `processing` errors for refused, unreadable or stream-less inputs. */
export async function probeMedia(inputPath: string, options: ProbeOptions = {}): Promise<MediaProbe> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const result = await runTool({
    binary: options.binary ?? "ffprobe",
    args: ffprobeArgs(inputPath, options.demuxers, { countPackets: options.countPackets }),
    signal: options.signal,
    timeoutMs,
    collectStdoutBytes: MAX_PROBE_JSON_BYTES,
  });
  if (result.exitCode !== 0 || result.timedOut) throw classifyToolFailure("ffprobe", result, timeoutMs);
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch (error) {
    throw processingError("ffprobe-unparseable", "ffprobe printed output that is not JSON", error);
  }
  const parsed = ffprobeOutputSchema.safeParse(json);
  if (!parsed.success)
    throw processingError(
      "ffprobe-unexpected",
      `ffprobe output has an unexpected shape: ${parsed.error.issues[0]?.message ?? ""}`,
    );
  return summariseProbe(parsed.data, options.demuxers ?? MEDIA_DEMUXERS);
}

/** Turns ffprobe's raw JSON into a {@link MediaProbe} (pure). */
export function summariseProbe(raw: FfprobeOutput, demuxers: readonly string[] = MEDIA_DEMUXERS): MediaProbe {
  const formatName = raw.format?.format_name ?? "unknown";
  if (formatName.split(",").some((alias) => PLAYLIST_DEMUXERS.includes(alias))) {
    // Unreachable while the whitelist holds; kept so a whitelist mistake cannot go unnoticed.
    throw processingError("playlist-refused", `input is a ${formatName} playlist, which is never processed`);
  }
  if (raw.streams.length === 0)
    throw processingError("no-streams", "ffprobe found no audio or video stream in the input");
  const isAttachedPicture = (stream: RawStream) => stream.disposition?.attached_pic === 1;
  const videoStreams = raw.streams.filter((stream) => stream.codec_type === "video");
  const realVideo = videoStreams.find((stream) => !isAttachedPicture(stream) && stream.width && stream.height);
  const audio = raw.streams.find((stream) => stream.codec_type === "audio");
  const durationUnknown = raw.streams.some((stream) => isAllOnes(stream.duration_ts));
  const streamDurations = raw.streams.map((stream) => stream.duration ?? 0);
  const durationSec = durationUnknown
    ? undefined
    : (raw.format?.duration ?? (Math.max(0, ...streamDurations) || undefined));
  return {
    format: {
      name: formatName,
      longName: raw.format?.format_long_name,
      demuxer: demuxerForProbedFormat(formatName, demuxers),
      durationSec: durationUnknown ? undefined : raw.format?.duration,
      // Derived from the duration, so as wrong as it when that is unknown.
      bitRate: durationUnknown ? undefined : raw.format?.bit_rate,
      sizeBytes: raw.format?.size,
      tags: raw.format?.tags ?? {},
    },
    video: realVideo ? toVideoStream(durationUnknown ? { ...realVideo, duration: undefined } : realVideo) : undefined,
    audio: audio ? toAudioStream(durationUnknown ? { ...audio, duration: undefined } : audio) : undefined,
    attachedPictureCount: videoStreams.filter(isAttachedPicture).length,
    durationSec,
    durationUnknown,
    streams: raw.streams.map((stream) => ({
      index: stream.index,
      type: stream.codec_type ?? "unknown",
      codec: stream.codec_name,
    })),
  };
}

function toVideoStream(stream: RawStream): VideoStreamProbe {
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  const rotationDeg = rotationOf(stream);
  const sampleAspectRatio = parseRatio(stream.sample_aspect_ratio) || 1;
  const stretchedWidth = Math.round(width * sampleAspectRatio);
  const quarterTurn = rotationDeg === 90 || rotationDeg === 270;
  const fps = parseRatio(stream.avg_frame_rate) || parseRatio(stream.r_frame_rate) || undefined;
  return {
    index: stream.index,
    codec: stream.codec_name ?? "unknown",
    codecTag: stream.codec_tag_string,
    profile: stream.profile,
    level: stream.level,
    width,
    height,
    displayWidth: quarterTurn ? height : stretchedWidth,
    displayHeight: quarterTurn ? stretchedWidth : height,
    rotationDeg,
    sampleAspectRatio,
    fps,
    frameRate: parseRatio(stream.avg_frame_rate)
      ? stream.avg_frame_rate
      : parseRatio(stream.r_frame_rate)
        ? stream.r_frame_rate
        : undefined,
    baseFps: parseRatio(stream.r_frame_rate) || undefined,
    pixelFormat: stream.pix_fmt,
    bitDepth: bitDepthOf(stream),
    colorPrimaries: colourTag(stream.color_primaries),
    colorTransfer: colourTag(stream.color_transfer),
    colorSpace: colourTag(stream.color_space),
    colorRange: colourTag(stream.color_range),
    hdr: hdrOf(stream.color_transfer),
    bitRate: stream.bit_rate,
    frameCount: stream.nb_frames,
    packetCount: stream.nb_read_packets,
    durationSec: stream.duration,
  };
}

function toAudioStream(stream: RawStream): AudioStreamProbe {
  return {
    index: stream.index,
    codec: stream.codec_name ?? "unknown",
    codecTag: stream.codec_tag_string,
    profile: stream.profile,
    channels: stream.channels,
    channelLayout: stream.channel_layout,
    sampleRate: stream.sample_rate,
    bitRate: stream.bit_rate,
    durationSec: stream.duration,
  };
}

/**
 * ffprobe lists a stream whose codec this build cannot decode without a codec_name (a CAF or
 * MP4 track in a codec ffmpeg 5.1 lacks): refused with that said in words, before any ffmpeg run
 * would fail with "Decoder (codec none) not found". Not retried: the build will not change.
 */
export function assertDecodable(
  stream: { codec: string; codecTag: string | undefined },
  what: string,
  probe: Pick<MediaProbe, "format">,
): void {
  if (stream.codec !== "unknown") return;
  const tag = stream.codecTag && /^[\x20-\x7e]{4}$/.test(stream.codecTag) ? ` "${stream.codecTag}"` : "";
  const container = probe.format.longName ?? probe.format.name;
  throw processingError(
    "unsupported-by-build",
    `${what} coded as${tag || " an unknown codec"} in ${container} is not supported by this build (ffmpeg 5.1 has no decoder for it)`,
  );
}

/** 2^32−1 or 2^64−1 (as a double, ffprobe's 18446744073709551615 parses to 2^64). */
function isAllOnes(value: number | undefined): boolean {
  return value === 0xffffffff || (value !== undefined && value >= 2 ** 64 - 2 ** 11);
}

/** ffprobe writes `unknown` (and older builds `unspecified`) for an untagged property. */
function colourTag(value: string | undefined): string | undefined {
  return value === undefined || value === "" || value === "unknown" || value === "unspecified" || value === "reserved"
    ? undefined
    : value;
}

/** The HDR kind of a transfer characteristic (ffprobe's name), undefined for SDR or untagged. */
export function hdrOf(colorTransfer: string | undefined): HdrTransfer | undefined {
  if (colorTransfer === "smpte2084") return "pq";
  if (colorTransfer === "arib-std-b67") return "hlg";
  return undefined;
}

/**
 * Bits per sample. The HEVC decoder leaves `bits_per_raw_sample` unset ("N/A"), so the pixel
 * format's name is the usual source: `yuv420p10le` → 10, `p010le` → 10, `yuv420p`/`nv12` → 8.
 */
export function bitDepthOf(stream: Pick<RawStream, "bits_per_raw_sample" | "pix_fmt">): number | undefined {
  if (stream.bits_per_raw_sample !== undefined && stream.bits_per_raw_sample > 0) return stream.bits_per_raw_sample;
  const format = stream.pix_fmt;
  if (!format) return undefined;
  // Planar and grey formats name their depth after `p`/`gray`; semi-planar ones are p010/p016.
  const deep = /(?:p|gray)(\d{2})(?:le|be)$/.exec(format) ?? /^p0(\d{2})(?:le|be)$/.exec(format);
  if (deep) return Number(deep[1]);
  return /^(yuvj?4\d\dp|nv\d\d|nv21|gray|rgb24|bgr24|[argb]{4}|yuyv422|uyvy422)$/.test(format) ? 8 : undefined;
}

/**
 * Clockwise degrees a player rotates the picture by. The display matrix's `rotation` is
 * counter-clockwise (av_display_rotation_get); the legacy `rotate` tag is clockwise.
 */
export function rotationOf(stream: Pick<RawStream, "side_data_list" | "tags">): 0 | 90 | 180 | 270 {
  const matrix = stream.side_data_list?.find((entry) => entry.rotation !== undefined);
  const tag = stream.tags?.["rotate"];
  let clockwise = 0;
  if (matrix?.rotation !== undefined) clockwise = -matrix.rotation;
  else if (tag !== undefined && Number.isFinite(Number(tag))) clockwise = Number(tag);
  const normalised = (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
  return normalised as 0 | 90 | 180 | 270;
}

/** `30000/1001` → 29.97…, `1:1` → 1; 0 for `0/0` or anything unparseable. */
export function parseRatio(value: string | undefined): number {
  if (!value) return 0;
  const match = /^(\d+(?:\.\d+)?)[/:](\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!match) return Number(value) || 0;
  const denominator = Number(match[2]);
  return denominator === 0 ? 0 : Number(match[1]) / denominator;
}

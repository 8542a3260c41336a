import { stat } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { processingError } from "../../errors.ts";
import { runFfmpeg } from "../../media/ffmpeg.runner.ts";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import { toneMapFilters, type ToneMapSource } from "./tone-map.ts";

/**
 * The poster: a representative frame, taken around `positionPercent` of the duration, skipping
 * dark frames (fade-ins, black leaders), at the largest rendition's size, as JPEG and WebP.
 */
export interface PosterFrameInput {
  inputPath: string;
  demuxer: string | undefined;
  videoStreamIndex: number;
  seekSec: number;
  /** How far past the seek point to look for a frame that is not dark; undefined = first frame at the seek. */
  searchSec: number | undefined;
  width: number;
  height: number;
  outFile: string;
  /** HDR source to tone-map like the renditions; undefined = SDR, frames as they are. */
  toneMap?: ToneMapSource | undefined;
  /** Bits per sample of the decoded frames (10 for most phone video); signalstats measures in that scale. */
  bitDepth?: number | undefined;
}

/**
 * Mean luma above which a frame counts as "not dark". Black in 8-bit limited range is 16;
 * 32 skips black and near-black frames but keeps ordinary night scenes.
 */
export const DARK_LUMA_THRESHOLD = 32;

/**
 * One frame as PNG (pure command builder). Input-side `-ss` seeks fast to the nearest keyframe, then decodes to the exact time.
 * An HDR frame is scaled first, then tone-mapped (the float maths at poster size), then judged
 * for darkness: the threshold is 8-bit SDR luma, which only the tone-mapped frame has.
 */
export function posterFrameArgs(input: PosterFrameInput): string[] {
  const before = [
    ...(input.seekSec > 0 ? ["-ss", input.seekSec.toFixed(3)] : []),
    ...(input.searchSec !== undefined ? ["-t", input.searchSec.toFixed(3)] : []),
  ];
  // Tone-mapped frames are 8-bit; untouched 10-bit frames measure black at 64, not 16.
  const threshold = input.toneMap ? DARK_LUMA_THRESHOLD : darkThresholdFor(input.bitDepth);
  const select =
    input.searchSec !== undefined
      ? [`signalstats,metadata=mode=select:key=lavfi.signalstats.YAVG:function=greater:value=${threshold}`]
      : [];
  const scale = `scale=w=${input.width}:h=${input.height}:flags=lanczos,setsar=1`;
  const filters = input.toneMap ? [scale, toneMapFilters(input.toneMap), ...select] : [...select, scale];
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: input.demuxer, before }),
    "-map",
    `0:${input.videoStreamIndex}`,
    "-vf",
    filters.join(","),
    "-frames:v",
    "1",
    "-update",
    "1",
    "-map_metadata",
    "-1",
    "-f",
    "image2",
    "-c:v",
    "png",
    "-y",
    input.outFile,
  ];
}

/** The dark-frame threshold in the frames' own scale: 32 at 8 bits, 128 at 10, 512 at 12. */
export function darkThresholdFor(bitDepth: number | undefined): number {
  const depth = bitDepth !== undefined && bitDepth > 8 && bitDepth <= 16 ? bitDepth : 8;
  return DARK_LUMA_THRESHOLD * 2 ** (depth - 8);
}

export interface PosterRequest {
  inputPath: string;
  demuxer: string | undefined;
  videoStreamIndex: number;
  durationSec: number | undefined;
  positionPercent: number;
  width: number;
  height: number;
  workDir: string;
  jpegQuality: number;
  webpQuality: number;
  toneMap?: ToneMapSource | undefined;
  bitDepth?: number | undefined;
  signal: AbortSignal;
  /** Only for a caller without a job deadline: in a job the job's signal carries PROCESSING_TIMEOUT. */
  timeoutMs?: number | undefined;
}

export interface PosterFiles {
  jpeg: string;
  webp: string;
  width: number;
  height: number;
  /** Where the frame came from: the first bright frame from the position, the frame at it, or the first frame. */
  source: "bright-frame" | "position" | "first-frame";
  atSec: number;
}

/**
 * Tries, in order: the first non-dark frame from the position on (within a quarter of the
 * duration), the frame at the position, the very first frame. ffmpeg exits 0 without writing
 * anything when a seek passes the real end or no frame qualifies, so each try is judged by its file.
 */
export async function extractPoster(request: PosterRequest): Promise<PosterFiles> {
  const duration = request.durationSec !== undefined && request.durationSec > 0 ? request.durationSec : 0;
  const position = posterPositionSec(request.durationSec, request.positionPercent);
  const png = path.join(request.workDir, "poster.png");
  const attempts: Array<{ source: PosterFiles["source"]; seekSec: number; searchSec: number | undefined }> = [
    { source: "bright-frame", seekSec: position, searchSec: Math.max(5, duration * 0.25) },
    { source: "position", seekSec: position, searchSec: undefined },
    { source: "first-frame", seekSec: 0, searchSec: undefined },
  ];
  for (const attempt of attempts) {
    await runFfmpeg({
      args: posterFrameArgs({ ...request, seekSec: attempt.seekSec, searchSec: attempt.searchSec, outFile: png }),
      signal: request.signal,
      timeoutMs: request.timeoutMs,
    });
    if (await nonEmpty(png)) return encodePoster(png, request, attempt.source, attempt.seekSec);
  }
  throw processingError("poster-failed", "no video frame could be decoded for the poster");
}

/**
 * Whether an 8-bit RGB frame counts as dark by the poster's rule: its mean luma (BT.709
 * weights, mapped to limited range as signalstats' YAVG measures it) not above
 * DARK_LUMA_THRESHOLD (pure).
 */
export function frameIsDark(meanRgb: readonly [number, number, number]): boolean {
  const [red, green, blue] = meanRgb;
  const fullRangeLuma = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
  return 16 + (fullRangeLuma * 219) / 255 <= DARK_LUMA_THRESHOLD;
}

/**
 * The poster from a frame the encode's own decode wrote (hls-command.ts `posterFrame`, issue 20):
 * the first frame at the position, as the first try of {@link extractPoster} would find it when
 * it is not dark. Undefined when the encode wrote no frame (the position is past the real end)
 * or the frame is dark; the caller then runs extractPoster, which searches on.
 */
export async function posterFromFrame(
  png: string,
  request: Pick<PosterRequest, "width" | "height" | "workDir" | "jpegQuality" | "webpQuality">,
  atSec: number,
): Promise<PosterFiles | undefined> {
  if (!(await nonEmpty(png))) return undefined;
  const { channels } = await sharp(png, { limitInputPixels: request.width * request.height + 1, failOn: "error" })
    .removeAlpha()
    .stats();
  const mean = channels.map((channel) => channel.mean);
  if (frameIsDark([mean[0] ?? 0, mean[1] ?? mean[0] ?? 0, mean[2] ?? mean[0] ?? 0])) return undefined;
  return encodePoster(png, request, "bright-frame", atSec);
}

/** The position extractPoster seeks to: `positionPercent` of the duration (0 when it is unknown). */
export function posterPositionSec(durationSec: number | undefined, positionPercent: number): number {
  const duration = durationSec !== undefined && durationSec > 0 ? durationSec : 0;
  return (duration * positionPercent) / 100;
}

async function encodePoster(
  png: string,
  request: Pick<PosterRequest, "width" | "height" | "workDir" | "jpegQuality" | "webpQuality">,
  source: PosterFiles["source"],
  atSec: number,
): Promise<PosterFiles> {
  const jpeg = path.join(request.workDir, "poster.jpg");
  const webp = path.join(request.workDir, "poster.webp");
  const image = sharp(png, { limitInputPixels: request.width * request.height + 1, failOn: "error" });
  await Promise.all([
    image.clone().jpeg({ quality: request.jpegQuality, mozjpeg: true }).toFile(jpeg),
    image.clone().webp({ quality: request.webpQuality }).toFile(webp),
  ]);
  return { jpeg, webp, width: request.width, height: request.height, source, atSec };
}

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

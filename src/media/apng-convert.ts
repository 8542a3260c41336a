import { stat } from "node:fs/promises";
import { processingError } from "../errors.ts";
import { runFfmpeg } from "./ffmpeg.runner.ts";
import { ANIMATED_IMAGE_DEMUXERS, safeInputArgs } from "./safe-input.ts";

/**
 * APNG → animated WebP with ffmpeg. libvips (sharp) reads only an APNG's default image, so its
 * animation would be flattened without a word; ffmpeg's apng demuxer and decoder compose the
 * frames (disposal and blending) and libwebp_anim writes them with their delays, which the
 * image pipeline then treats like any animated WebP. Same input rules as every ffmpeg run: the
 * local file only, the apng demuxer only.
 */
export interface ApngConversion {
  inputPath: string;
  outputPath: string;
  /** WebP quality (IMAGE_WEBP_QUALITY). */
  quality: number;
  /** The APNG's play count; 0 loops forever, as in WebP. */
  loop: number;
  signal: AbortSignal;
  timeoutMs: number;
}

/** The conversion's argument array (pure). */
export function apngToWebpArgs(
  request: Pick<ApngConversion, "inputPath" | "outputPath" | "quality" | "loop">,
): string[] {
  return [
    ...safeInputArgs(request.inputPath, { demuxers: ANIMATED_IMAGE_DEMUXERS, format: "apng" }),
    "-map",
    "0:v:0",
    "-map_metadata",
    "-1",
    "-c:v",
    "libwebp_anim",
    "-lossless",
    "0",
    "-quality",
    String(request.quality),
    "-loop",
    String(request.loop),
    "-f",
    "webp",
    "-y",
    request.outputPath,
  ];
}

export async function convertApngToWebp(request: ApngConversion): Promise<string> {
  await runFfmpeg({ args: apngToWebpArgs(request), signal: request.signal, timeoutMs: request.timeoutMs });
  const written = await stat(request.outputPath).catch(() => undefined);
  if (!written || written.size === 0) throw processingError("image-corrupt", "the APNG's frames could not be decoded");
  return request.outputPath;
}

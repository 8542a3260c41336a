import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { Sharp } from "sharp";
import { compareRawImages } from "../../media/ffmpeg-quality.ts";
import { ssimulacra2Score } from "../../media/ssimulacra2.ts";
import type { OutputFile, OutputQuality, ProcessContext } from "../processor.ts";

/**
 * Scores an encoded image against its source at the output's size: the source (as the encoder
 * got it: oriented, sRGB) is resized to the output's exact size, both are flattened on white
 * (the metrics compare RGB) and compared with SSIMULACRA2 or ffmpeg's SSIM/PSNR. Images over
 * {@link MAX_COMPARED_PIXELS} are compared on a centre crop at full resolution: artefacts stay
 * visible at 1:1 while the cost stays bounded (SSIMULACRA2 holds ~30 float planes of the image).
 * Animated outputs are scored on their first frame. Used by the image processor's hook
 * (QUALITY_SCORES) and by the benchmark's quality area alike.
 */

export type ImageMetric = "ssimulacra2" | "ssim";

export const MAX_COMPARED_PIXELS = 2048 * 2048;
const WHITE = { r: 255, g: 255, b: 255 };

export interface RawPixels {
  data: Buffer;
  info: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

export interface ImageScoreOptions {
  metrics: readonly ImageMetric[];
  /** Scratch folder for the compared files (removed after each comparison). */
  workDir: string;
  /** Unique per comparison within workDir. */
  name: string;
  ssimulacra2Binary?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface ImageScores {
  ssimulacra2?: number;
  ssim?: number;
  psnrDb?: number;
  comparedWidth: number;
  comparedHeight: number;
  cropped: boolean;
}

/** Packed RGB of an image pipeline, flattened on white. */
async function rgbOf(pipeline: Sharp): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await pipeline
    .flatten({ background: WHITE })
    .toColourspace("srgb")
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The centre box of at most MAX_COMPARED_PIXELS, or undefined when the whole image fits (pure). */
export function comparedRegion(
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } | undefined {
  if (width * height <= MAX_COMPARED_PIXELS) return undefined;
  const side = Math.floor(Math.sqrt(MAX_COMPARED_PIXELS));
  const cropWidth = Math.min(width, Math.max(side, Math.floor(MAX_COMPARED_PIXELS / Math.min(height, side))));
  const cropHeight = Math.min(height, Math.floor(MAX_COMPARED_PIXELS / cropWidth));
  return {
    left: Math.floor((width - cropWidth) / 2),
    top: Math.floor((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

/**
 * Scores `encoded` against `reference` (a pipeline producing the source as the encoder got it,
 * before resizing to the output). `reference` is resized with sharp's default Lanczos 3 when
 * its size differs from the output's.
 */
export async function scoreEncodedImage(
  reference: Sharp,
  encoded: Buffer,
  options: ImageScoreOptions,
): Promise<ImageScores> {
  const distorted = await rgbOf(sharp(encoded, { failOn: "error" }));
  const fitted = await rgbOf(reference.clone().resize(distorted.width, distorted.height, { fit: "fill" }));
  const region = comparedRegion(distorted.width, distorted.height);
  const cut = async (image: { data: Buffer; width: number; height: number }) =>
    region
      ? sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
          .extract(region)
          .raw()
          .toBuffer()
      : image.data;
  const [distortedData, referenceData] = await Promise.all([cut(distorted), cut(fitted)]);
  const width = region?.width ?? distorted.width;
  const height = region?.height ?? distorted.height;
  const scores: ImageScores = { comparedWidth: width, comparedHeight: height, cropped: region !== undefined };
  const base = path.join(options.workDir, options.name);
  const files: string[] = [];
  try {
    if (options.metrics.includes("ssim")) {
      const distortedFile = `${base}.distorted.rgb`;
      const referenceFile = `${base}.reference.rgb`;
      files.push(distortedFile, referenceFile);
      await Promise.all([writeFile(distortedFile, distortedData), writeFile(referenceFile, referenceData)]);
      const result = await compareRawImages(
        { file: distortedFile, width, height },
        { file: referenceFile, width, height },
        options.workDir,
        options.name,
        options,
      );
      files.push(`${base}.ssim.log`, `${base}.psnr.log`);
      scores.ssim = round(result.ssim, 5);
      scores.psnrDb = round(result.psnrDb, 2);
    }
    if (options.metrics.includes("ssimulacra2")) {
      const distortedPng = `${base}.distorted.png`;
      const referencePng = `${base}.reference.png`;
      files.push(distortedPng, referencePng);
      const png = (data: Buffer, file: string) =>
        sharp(data, { raw: { width, height, channels: 3 } })
          .png({ compressionLevel: 1 })
          .toFile(file);
      await Promise.all([png(distortedData, distortedPng), png(referenceData, referencePng)]);
      scores.ssimulacra2 = round(
        await ssimulacra2Score(referencePng, distortedPng, {
          binary: options.ssimulacra2Binary,
          signal: options.signal,
          timeoutMs: options.timeoutMs,
        }),
        2,
      );
    }
  } finally {
    await Promise.all(files.map((file) => rm(file, { force: true })));
  }
  return scores;
}

/**
 * The image processor's hook: one scorer per job, comparisons one at a time (each holds two
 * decoded images; the encodes run side by side already). A failed comparison is recorded in
 * the score's `error` and never fails the job: a broken meter must not cost the outputs.
 */
export function createImageScorer(ctx: Pick<ProcessContext, "config" | "workDir" | "signal">) {
  const options = {
    metric: ctx.config.quality.imageMetric,
    ssimulacra2Binary: ctx.config.quality.ssimulacra2Binary,
    workDir: ctx.workDir,
    signal: ctx.signal,
  };
  let queue: Promise<unknown> = Promise.resolve();
  let count = 0;
  return {
    score(reference: Sharp, encoded: Buffer): Promise<OutputQuality> {
      const name = `quality-${count++}`;
      const run = queue.then(async (): Promise<OutputQuality> => {
        try {
          const scores = await scoreEncodedImage(reference, encoded, { ...options, metrics: [options.metric], name });
          return { metric: options.metric, ...scores };
        } catch (error) {
          if (options.signal.aborted) throw error;
          return { metric: options.metric, error: (error as Error).message.slice(0, 300) };
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** The output with its score attached, or as it is when there is none. */
export function withQuality(output: OutputFile, quality: OutputQuality | undefined): OutputFile {
  return quality ? { ...output, quality } : output;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

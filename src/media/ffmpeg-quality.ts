import { readFile } from "node:fs/promises";
import path from "node:path";
import { runFfmpeg } from "./ffmpeg.runner.ts";

/**
 * SSIM and PSNR with ffmpeg's own `ssim` and `psnr` filters (Debian's ffmpeg is built without
 * libvmaf, so VMAF is not available). The filters' summaries are printed at `info` level, which
 * the runner silences (`-loglevel error`); each comparison therefore writes per-frame stats files
 * that are parsed here: SSIM as the mean of the frames' `All` (ffmpeg's own summary), with the
 * worst frame beside it, and PSNR from the mean squared error over all frames (as ffmpeg's
 * `average` is computed), for 8-bit samples.
 */

export interface SsimPsnr {
  /** Mean SSIM over frames of all planes weighted by their size (ffmpeg's `All`); 1 = identical. */
  ssim: number;
  /** SSIM of the worst frame: one bad stretch of a video shows here, not in the mean. */
  ssimMin: number;
  /** PSNR in dB from the mean MSE over frames and planes; 100 when identical. */
  psnrDb: number;
  frames: number;
}

/** One comparison inside a graph: two stream labels (`[d0]`, `[1:v:0]`) and where the stats go. */
export interface ComparisonPair {
  distorted: string;
  reference: string;
  ssimStatsFile: string;
  psnrStatsFile: string;
}

/** PSNR reported for identical inputs (ffmpeg prints `inf`). */
export const PSNR_IDENTICAL_DB = 100;

/**
 * Filter chains comparing each pair (pure): both sides restarted at timestamp 0 (an HLS rung's
 * MPEG-TS starts at 1.4 s, the source at 0) so frames are matched one to one, then ssim and psnr
 * in a chain (ssim passes the distorted frames through to psnr). Each pair ends in `[q<i>]`,
 * to be mapped to a null output.
 */
export function comparisonGraph(pairs: readonly ComparisonPair[]): string {
  return pairs
    .map((pair, index) => {
      for (const file of [pair.ssimStatsFile, pair.psnrStatsFile]) {
        // The path is a filter option value: keep it free of the graph's own separators.
        if (!path.isAbsolute(file) || /[:,;'[\]\\=\s]/.test(file))
          throw new Error(`unsafe stats file path for a filter graph: "${file}"`);
      }
      return [
        `${pair.distorted}setpts=PTS-STARTPTS[qd${index}]`,
        `${pair.reference}setpts=PTS-STARTPTS,split[qr${index}a][qr${index}b]`,
        `[qd${index}][qr${index}a]ssim=stats_file=${pair.ssimStatsFile}[qs${index}]`,
        `[qs${index}][qr${index}b]psnr=stats_file=${pair.psnrStatsFile}[q${index}]`,
      ].join(";");
    })
    .join(";");
}

/** `-map [q0] -map [q1] … -f null -`: the comparisons need their frames pulled, nothing written. */
export function comparisonOutputs(count: number): string[] {
  return [...Array.from({ length: count }, (_, index) => ["-map", `[q${index}]`]).flat(), "-f", "null", "-"];
}

/** Mean and minimum of the `All:` values of an ssim stats file (pure). */
export function parseSsimStats(text: string): { ssim: number; ssimMin: number; frames: number } {
  const values = [...text.matchAll(/\bAll:([0-9.]+)/g)].map((match) => Number(match[1]));
  if (values.length === 0) throw new Error("the ssim stats file holds no frame");
  return {
    ssim: values.reduce((sum, value) => sum + value, 0) / values.length,
    ssimMin: Math.min(...values),
    frames: values.length,
  };
}

/** PSNR from the mean of the frames' `mse_avg` (pure); 8-bit peak 255. */
export function parsePsnrStats(text: string): { psnrDb: number; frames: number } {
  const values = [...text.matchAll(/\bmse_avg:([0-9.]+)/g)].map((match) => Number(match[1]));
  if (values.length === 0) throw new Error("the psnr stats file holds no frame");
  return { psnrDb: psnrFromMse(values.reduce((sum, value) => sum + value, 0) / values.length), frames: values.length };
}

export function psnrFromMse(mse: number): number {
  if (mse <= 0) return PSNR_IDENTICAL_DB;
  return Math.min(PSNR_IDENTICAL_DB, 10 * Math.log10((255 * 255) / mse));
}

export async function readComparison(pair: ComparisonPair): Promise<SsimPsnr> {
  const [ssimText, psnrText] = await Promise.all([
    readFile(pair.ssimStatsFile, "utf8"),
    readFile(pair.psnrStatsFile, "utf8"),
  ]);
  const ssim = parseSsimStats(ssimText);
  const psnr = parsePsnrStats(psnrText);
  return { ssim: ssim.ssim, ssimMin: ssim.ssimMin, psnrDb: psnr.psnrDb, frames: Math.min(ssim.frames, psnr.frames) };
}

export interface RawRgbImage {
  /** Absolute path of packed 8-bit RGB pixels, written by us (never an upload). */
  file: string;
  width: number;
  height: number;
}

/**
 * Inputs and graph comparing two raw RGB images of the same size (pure). Both are converted to
 * YUV 4:4:4 so the score weighs luma and colour the way the video scores do.
 */
export function imageComparisonArgs(
  distorted: RawRgbImage,
  reference: RawRgbImage,
  pair: Pick<ComparisonPair, "ssimStatsFile" | "psnrStatsFile">,
): string[] {
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    throw new Error(
      `images differ in size: ${distorted.width}x${distorted.height} vs ${reference.width}x${reference.height}`,
    );
  }
  const input = (image: RawRgbImage) => [
    "-protocol_whitelist",
    "file,pipe",
    "-format_whitelist",
    "rawvideo",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "-s",
    `${image.width}x${image.height}`,
    "-i",
    `file:${image.file}`,
  ];
  const graph = [
    "[0:v]format=yuv444p[di]",
    "[1:v]format=yuv444p[ri]",
    comparisonGraph([
      { distorted: "[di]", reference: "[ri]", ssimStatsFile: pair.ssimStatsFile, psnrStatsFile: pair.psnrStatsFile },
    ]),
  ].join(";");
  return [...input(distorted), ...input(reference), "-filter_complex", graph, ...comparisonOutputs(1)];
}

/** SSIM and PSNR of one raw RGB image against another, stats files in `workDir`. */
export async function compareRawImages(
  distorted: RawRgbImage,
  reference: RawRgbImage,
  workDir: string,
  name: string,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
): Promise<SsimPsnr> {
  const pair = {
    distorted: "",
    reference: "",
    ssimStatsFile: path.join(workDir, `${name}.ssim.log`),
    psnrStatsFile: path.join(workDir, `${name}.psnr.log`),
  };
  await runFfmpeg({
    args: imageComparisonArgs(distorted, reference, pair),
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  return readComparison(pair);
}

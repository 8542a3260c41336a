import { mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
import {
  comparisonGraph,
  comparisonOutputs,
  readComparison,
  type ComparisonPair,
  type SsimPsnr,
} from "../../media/ffmpeg-quality.ts";
import { runFfmpeg } from "../../media/ffmpeg.runner.ts";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import type { OutputFile, OutputQuality, ProcessContext } from "../processor.ts";
import { videoFilterGraph, type VideoEncodeSettings, type VideoEncodeSource } from "../video/encode-options.ts";
import type { PlannedRung } from "../video/ladder-plan.ts";
import { parseMediaPlaylist } from "../video/master-playlist.ts";

/**
 * Scores video renditions against their source with ffmpeg's SSIM and PSNR (no VMAF in
 * Debian's ffmpeg). The reference of each rendition is exactly what its encoder was fed: the
 * ladder's own filter graph (fps cap, HDR tone map, the scale to the rung's size) applied to
 * the source, decoded once and split, so the score measures the encode and nothing else. An
 * HLS rung is read as one file: its segments concatenated (MPEG-TS segments, or the fMP4 init
 * segment followed by its fragments, are valid streams end to end). Used by the video
 * processor's hook (QUALITY_SCORES) and by the benchmark's quality area.
 */

export interface RenditionFile {
  rung: Pick<PlannedRung, "name" | "width" | "height">;
  /** The rendition as one local file we wrote, and the demuxer that reads it. */
  file: string;
  demuxer: "mpegts" | "mov";
}

export interface RenditionScoreInput {
  inputPath: string;
  demuxer: string | undefined;
  source: VideoEncodeSource;
  settings: VideoEncodeSettings;
  renditions: readonly RenditionFile[];
  workDir: string;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** The one ffmpeg run scoring every rendition (pure): source first, then each rendition. */
export function renditionScoreArgs(input: RenditionScoreInput, pairs: readonly ComparisonPair[]): string[] {
  const inputs = [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: input.demuxer }),
    ...input.renditions.flatMap((rendition) =>
      safeInputArgs(rendition.file, { demuxers: VIDEO_DEMUXERS, format: rendition.demuxer }),
    ),
  ];
  const references = videoFilterGraph(
    input.source,
    input.renditions.map((rendition) => rendition.rung),
    input.settings,
    0,
  );
  return [...inputs, "-filter_complex", `${references};${comparisonGraph(pairs)}`, ...comparisonOutputs(pairs.length)];
}

export async function scoreRenditionFiles(input: RenditionScoreInput): Promise<SsimPsnr[]> {
  const pairs: ComparisonPair[] = input.renditions.map((rendition, index) => ({
    distorted: `[${index + 1}:v:0]`,
    reference: `[v${index}]`,
    ssimStatsFile: path.join(input.workDir, `${safeName(rendition.rung.name)}.ssim.log`),
    psnrStatsFile: path.join(input.workDir, `${safeName(rendition.rung.name)}.psnr.log`),
  }));
  await runFfmpeg({
    args: renditionScoreArgs(input, pairs),
    durationSec: input.source.durationSec,
    signal: input.signal,
    timeoutMs: input.timeoutMs,
  });
  return Promise.all(pairs.map((pair) => readComparison(pair)));
}

/** One HLS rendition as a single file: init segment (fMP4) and media segments in playlist order. */
export async function joinHlsRendition(
  hlsDir: string,
  name: string,
  outFile: string,
): Promise<RenditionFile["demuxer"]> {
  const folder = path.join(hlsDir, name);
  const playlist = parseMediaPlaylist(await readFile(path.join(folder, "index.m3u8"), "utf8"));
  const parts = [...(playlist.initUri ? [playlist.initUri] : []), ...playlist.segments.map((segment) => segment.uri)];
  const out = await open(outFile, "w");
  try {
    for (const part of parts) {
      // Playlist entries are names ffmpeg wrote into this folder; anything else is refused.
      if (part.includes("/") || part.includes("\\") || part.startsWith("."))
        throw new Error(`unexpected segment name "${part}" in rendition ${name}`);
      // One segment at a time (a few MB each), so memory stays at one segment.
      await out.write(await readFile(path.join(folder, part)));
    }
  } finally {
    await out.close();
  }
  return playlist.initUri ? "mov" : "mpegts";
}

export interface VideoScoreHookInput {
  demuxer: string;
  source: VideoEncodeSource;
  settings: VideoEncodeSettings;
  rungs: readonly PlannedRung[];
  encoded: { kind: "hls"; dir: string } | { kind: "mp4"; file: string };
}

export interface RenditionQuality {
  name: string;
  quality: OutputQuality;
}

/**
 * The video processor's hook: every rung (or the web MP4) scored in one ffmpeg run, recorded as
 * a `quality-scored` timeline entry. A failure is recorded on each rendition's score, never
 * failing the job (unless the job itself was cancelled).
 */
export async function scoreVideoOutputs(ctx: ProcessContext, input: VideoScoreHookInput): Promise<RenditionQuality[]> {
  const workDir = path.join(ctx.workDir, "quality");
  await mkdir(workDir, { recursive: true });
  const rungs = input.encoded.kind === "hls" ? input.rungs : [input.rungs.at(-1)!];
  try {
    const renditions: RenditionFile[] = [];
    for (const rung of rungs) {
      if (input.encoded.kind === "mp4") renditions.push({ rung, file: input.encoded.file, demuxer: "mov" });
      else {
        const file = path.join(workDir, `${safeName(rung.name)}.joined`);
        renditions.push({ rung, file, demuxer: await joinHlsRendition(input.encoded.dir, rung.name, file) });
      }
    }
    const scores = await scoreRenditionFiles({
      inputPath: ctx.inputPath,
      demuxer: input.demuxer,
      source: input.source,
      settings: input.settings,
      renditions,
      workDir,
      signal: ctx.signal,
    });
    const result = rungs.map((rung, index) => ({ name: rung.name, quality: toOutputQuality(scores[index]!, rung) }));
    ctx.step("quality-scored", {
      metric: "ssim",
      scores: result.map(
        (entry) =>
          `${entry.name}: ssim ${entry.quality.ssim} (min ${entry.quality.ssimMin}) psnr ${entry.quality.psnrDb} dB`,
      ),
    });
    return result;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const message = (error as Error).message.slice(0, 300);
    ctx.step("quality-scored", { metric: "ssim", failed: message });
    return rungs.map((rung) => ({ name: rung.name, quality: { metric: "ssim", error: message } }));
  }
}

/** Attaches each rendition's score to its media playlist (HLS) or to the web MP4 (pure). */
export function withRenditionQuality(
  outputs: OutputFile[],
  scores: readonly RenditionQuality[] | undefined,
): OutputFile[] {
  if (!scores) return outputs;
  return outputs.map((output) => {
    const match =
      output.variant === "web_mp4"
        ? scores[0]
        : scores.find((score) => output.key.endsWith(`/hls/${score.name}/index.m3u8`));
    return match ? { ...output, quality: match.quality } : output;
  });
}

function toOutputQuality(score: SsimPsnr, rung: Pick<PlannedRung, "width" | "height">): OutputQuality {
  return {
    metric: "ssim",
    ssim: round(score.ssim, 5),
    ssimMin: round(score.ssimMin, 5),
    psnrDb: round(score.psnrDb, 2),
    frames: score.frames,
    comparedWidth: rung.width,
    comparedHeight: rung.height,
  };
}

/** Rung names are ours (`720p`, `720p-2`); kept to safe file-name characters anyway. */
const safeName = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, "_");
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../../src/config/config.ts";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { VIDEO_DEMUXERS } from "../../src/media/safe-input.ts";
import {
  joinHlsRendition,
  scoreRenditionFiles,
  type RenditionFile,
} from "../../src/processors/quality/video-quality.ts";
import {
  contentProbeArgs,
  fitRungsToContent,
  probeOutputFile,
  probeWindows,
} from "../../src/processors/video/content-ladder.ts";
import type { VideoEncodeSettings, VideoEncodeSource } from "../../src/processors/video/encode-options.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { planLadder, type PlannedRung } from "../../src/processors/video/ladder-plan.ts";
import type { BenchContext } from "./context.ts";
import { waitedChildrenCpuSeconds } from "./process-cpu.ts";
import { paretoFrontier } from "./quality-choice.ts";
import type { QualityClipInput } from "./quality-inputs.ts";
import type { ReportTable } from "./report.ts";

/**
 * The video half of the quality area: each clip through the processor's own one-pass HLS
 * ladder command (hls-command.ts) with the fixed bitrates of VIDEO_HLS_RUNGS (today's default),
 * with capped CRF instead of a target bitrate (same caps), and with the content-aware ladder
 * (content-ladder.ts: the probe, then the fitted bitrates). Every rung scored with ffmpeg's
 * SSIM/PSNR against the frames its encoder got (src/processors/quality/video-quality.ts).
 * Encode cost is the CPU seconds of the ffmpeg children (user + sys), probe included.
 */

export interface LadderVariant {
  name: string;
  kind: "fixed" | "crf" | "content";
  crf?: number;
}

export function ladderVariants(probeCrf: number, full: boolean): LadderVariant[] {
  return [
    { name: "fixed bitrate (current)", kind: "fixed" },
    ...(full ? [{ name: "capped CRF 20", kind: "crf" as const, crf: 20 }] : []),
    { name: "capped CRF 23", kind: "crf", crf: 23 },
    { name: "capped CRF 26", kind: "crf", crf: 26 },
    { name: `content-aware (probe CRF ${probeCrf})`, kind: "content" },
  ];
}

/**
 * The ladder command with each rung's target bitrate (`-b:v:<i>`) replaced by a CRF, keeping
 * its maxrate and buffer: quality-driven rate control under the same peak caps (pure).
 */
export function withCappedCrf(args: readonly string[], crf: number): string[] {
  const out: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const match = /^-b:v:(\d+)$/.exec(args[index]!);
    if (match) {
      out.push(`-crf:v:${match[1]}`, String(crf));
      index += 1;
    } else out.push(args[index]!);
  }
  return out;
}

export interface RungMeasure {
  rung: string;
  width: number;
  height: number;
  kbps: number;
  configuredKbps: number;
  ssim: number;
  ssimMin: number;
  psnrDb: number;
}

export interface LadderMeasure {
  clip: string;
  variant: LadderVariant;
  rungs: RungMeasure[];
  totalBytes: number;
  /** Encode CPU seconds per second of video (probe included for the content-aware ladder). */
  cpuPerVideoSec: number;
  probeCpuSec: number;
}

async function folderBytes(dir: string): Promise<number> {
  const names = await readdir(dir);
  const sizes = await Promise.all(
    names.filter((name) => !name.endsWith(".m3u8")).map(async (name) => (await stat(path.join(dir, name))).size),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

export async function measureLadders(
  context: BenchContext,
  clips: readonly QualityClipInput[],
  video: AppConfig["video"],
): Promise<LadderMeasure[]> {
  const measures: LadderMeasure[] = [];
  const variants = ladderVariants(video.contentProbeCrf, context.settings.quality.fullCandidates);
  const settings: VideoEncodeSettings & { segmentFormat: "mpegts" | "fmp4" } = {
    x264Preset: video.x264Preset,
    maxFps: video.maxFps,
    segmentSeconds: video.segmentSeconds,
    keyframeSeconds: video.keyframeSeconds,
    addSilentAudio: false,
    segmentFormat: "mpegts",
  };
  for (const clip of clips) {
    const probe = await probeMedia(clip.file, { demuxers: VIDEO_DEMUXERS });
    const stream = probe.video!;
    const source: VideoEncodeSource = {
      videoStreamIndex: stream.index,
      audioStreamIndex: undefined,
      fps: stream.fps,
      durationSec: probe.durationSec,
    };
    const planned = planLadder(
      { width: stream.displayWidth, height: stream.displayHeight, bitRate: probe.format.bitRate },
      video.rungs,
    );
    const demuxer = probe.format.demuxer;
    for (const variant of variants) {
      const dir = path.join(context.workDir, `quality-${clip.name}-${variant.kind}${variant.crf ?? ""}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const cpuBefore = await waitedChildrenCpuSeconds();
      let rungs: PlannedRung[] = planned;
      let probeCpuSec = 0;
      if (variant.kind === "content") {
        const windows = probeWindows(source.durationSec, video.contentProbeSeconds);
        await runFfmpeg({
          args: contentProbeArgs({
            inputPath: clip.file,
            demuxer,
            source,
            rungs: planned,
            settings,
            windows,
            crf: video.contentProbeCrf,
            outDir: dir,
          }),
        });
        const probes = await Promise.all(
          planned.map((_, index) =>
            stat(probeOutputFile(dir, index)).then(
              (file) => ({ bytes: file.size }),
              () => ({ bytes: undefined }),
            ),
          ),
        );
        rungs = fitRungsToContent(
          planned,
          probes,
          windows.reduce((sum, window) => sum + window.durationSec, 0),
          video.contentProbeCrf,
        ).map((entry) => entry.rung);
        probeCpuSec = (await waitedChildrenCpuSeconds()) - cpuBefore;
      }
      const ladder = hlsLadderArgs({
        inputPath: clip.file,
        demuxer,
        source,
        rungs,
        settings,
        audioOnlyKbps: undefined,
        outDir: dir,
      });
      await runFfmpeg({
        args: variant.kind === "crf" ? withCappedCrf(ladder, variant.crf!) : ladder,
        durationSec: source.durationSec,
      });
      const cpuSec = (await waitedChildrenCpuSeconds()) - cpuBefore;
      const renditions: RenditionFile[] = [];
      for (const rung of rungs) {
        const file = path.join(dir, `${rung.name}.joined.ts`);
        renditions.push({ rung, file, demuxer: await joinHlsRendition(dir, rung.name, file) });
      }
      const scores = await scoreRenditionFiles({
        inputPath: clip.file,
        demuxer,
        source,
        settings,
        renditions,
        workDir: dir,
      });
      const rungMeasures: RungMeasure[] = [];
      let totalBytes = 0;
      for (const [index, rung] of rungs.entries()) {
        const bytes = await folderBytes(path.join(dir, rung.name));
        totalBytes += bytes;
        const score = scores[index]!;
        rungMeasures.push({
          rung: rung.name,
          width: rung.width,
          height: rung.height,
          kbps: (bytes * 8) / 1000 / clip.durationSec,
          configuredKbps: planned[index]!.videoKbps,
          ssim: score.ssim,
          ssimMin: score.ssimMin,
          psnrDb: score.psnrDb,
        });
      }
      measures.push({
        clip: clip.name,
        variant,
        rungs: rungMeasures,
        totalBytes,
        cpuPerVideoSec: cpuSec / clip.durationSec,
        probeCpuSec,
      });
      context.log(
        `quality: ${clip.name} ${variant.name}: ${rungMeasures.map((rung) => `${rung.rung} ${Math.round(rung.kbps)}k SSIM ${rung.ssim.toFixed(4)}`).join(", ")}; ${(cpuSec / clip.durationSec).toFixed(2)} cpu-s per s`,
      );
      await rm(dir, { recursive: true, force: true });
    }
  }
  return measures;
}

/** One table per clip: per rung kbit/s, SSIM (worst frame) and PSNR; CPU; frontier marks on (total bytes, worst rung SSIM). */
export function ladderTables(measures: readonly LadderMeasure[], clips: readonly QualityClipInput[]): ReportTable[] {
  return clips.map((clip) => {
    const rows = measures.filter((measure) => measure.clip === clip.name);
    const points = rows.map((row) => ({
      id: row.variant.name,
      cost: row.totalBytes,
      score: Math.min(...row.rungs.map((rung) => rung.ssim)),
    }));
    const byBytes = paretoFrontier(points);
    const byCpu = paretoFrontier(
      rows.map((row, index) => ({ id: row.variant.name, cost: row.cpuPerVideoSec, score: points[index]!.score })),
    );
    const rungNames = rows[0]?.rungs.map((rung) => `${rung.rung}`) ?? [];
    return {
      title: `Video: ${clip.name} (${clip.description}; ${clip.durationSec} s 720p30)`,
      header: [
        "ladder",
        ...rungNames.map((name) => `${name} kbit/s · SSIM (worst) · PSNR`),
        "total KiB",
        "CPU-s per s",
        "frontier",
      ],
      rows: rows.map((row, index) => [
        row.variant.name,
        ...row.rungs.map(
          (rung) =>
            `${Math.round(rung.kbps)} · ${rung.ssim.toFixed(4)} (${rung.ssimMin.toFixed(3)}) · ${rung.psnrDb.toFixed(1)}`,
        ),
        (row.totalBytes / 1024).toFixed(0),
        `${row.cpuPerVideoSec.toFixed(2)}${row.probeCpuSec > 0 ? ` (probe ${(row.probeCpuSec / clip.durationSec).toFixed(2)})` : ""}`,
        [byBytes.has(points[index]!.id) ? "bytes" : "", byCpu.has(points[index]!.id) ? "cpu" : ""]
          .filter(Boolean)
          .join("+"),
      ]),
      notes: [
        "kbit/s: segment bytes over the clip's duration (video only, MPEG-TS overhead included); SSIM: ffmpeg's All (Y, U, V by plane size) mean over frames, worst frame in brackets; PSNR in dB; compared at the rung's size with the frames its encoder got. Frontier on (total bytes, worst rung's SSIM) and (CPU, worst rung's SSIM).",
      ],
    };
  });
}

import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { runFfmpeg } from "../../media/ffmpeg.runner.ts";
import type { ProcessContext } from "../processor.ts";
import { contentProbeArgs, fitRungsToContent, probeOutputFile, probeWindows } from "./content-ladder.ts";
import type { VideoEncodeSettings, VideoEncodeSource } from "./encode-options.ts";
import type { PlannedRung } from "./ladder-plan.ts";

/**
 * The content-aware ladder step (VIDEO_CONTENT_AWARE_LADDER): runs the probe encode that
 * content-ladder.ts builds and returns the rungs fitted to the content (CRF under a content cap). Records
 * a `content-probed` timeline entry with each rung's probe and chosen bitrate.
 */
export interface ContentProbeInput {
  demuxer: string;
  source: VideoEncodeSource;
  settings: VideoEncodeSettings;
  rungs: PlannedRung[];
}

export async function fitLadderToContent(ctx: ProcessContext, input: ContentProbeInput): Promise<PlannedRung[]> {
  const video = ctx.config.video;
  const windows = probeWindows(input.source.durationSec, video.contentProbeSeconds);
  const outDir = path.join(ctx.workDir, "content-probe");
  await mkdir(outDir, { recursive: true });
  const run = await runFfmpeg({
    args: contentProbeArgs({
      inputPath: ctx.inputPath,
      demuxer: input.demuxer,
      source: input.source,
      rungs: input.rungs,
      settings: input.settings,
      windows,
      crf: video.contentProbeCrf,
      outDir,
    }),
    signal: ctx.signal,
  });
  const probes = await Promise.all(
    input.rungs.map((_, index) =>
      stat(probeOutputFile(outDir, index)).then(
        (file) => ({ bytes: file.size }),
        () => ({ bytes: undefined }),
      ),
    ),
  );
  const sampledSec = windows.reduce((sum, window) => sum + window.durationSec, 0);
  const fitted = fitRungsToContent(input.rungs, probes, sampledSec, video.contentProbeCrf);
  ctx.step("content-probed", {
    crf: video.contentProbeCrf,
    sampledSec: Math.round(sampledSec * 1000) / 1000,
    windows: windows.length,
    elapsedMs: run.elapsedMs,
    rungs: fitted.map((entry) => {
      if (entry.rung.crf !== undefined)
        return `${entry.rung.name} probe ${entry.probeKbps}k → CRF ${entry.rung.crf} capped at ${entry.rung.maxrateKbps}k (of ${entry.configuredKbps}k)`;
      return entry.probeKbps !== undefined
        ? `${entry.rung.name} probe ${entry.probeKbps}k ≥ ${entry.configuredKbps}k: the fixed rung`
        : `${entry.rung.name} probe failed: the fixed rung`;
    }),
  });
  return fitted.map((entry) => entry.rung);
}

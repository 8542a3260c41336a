import { stat } from "node:fs/promises";
import { processingError } from "../../errors.ts";
import { runFfmpeg, safeInputArgs, AUDIO_DEMUXERS } from "../../media/ffmpeg.runner.ts";
import { probeMedia } from "../../media/ffprobe.ts";
import { transcodeOutputArgs, type TranscodeTarget } from "./transcode-plan.ts";

export interface TranscodeRunOptions {
  inputPath: string;
  demuxer: string;
  target: TranscodeTarget;
  outputPath: string;
  /** Expected duration, for progress percentages; may be a header's lie. */
  durationSec: number | undefined;
  maxDurationSec: number;
  signal: AbortSignal;
  onPercent?: (percent: number) => void;
}

export interface TranscodeOutcome {
  target: TranscodeTarget;
  outputPath: string;
  bytes: number;
  /** Duration of the written file, measured by probing it. */
  durationSec: number;
}

/** Demuxers our own outputs are read back with. */
const OUTPUT_DEMUXERS: Record<TranscodeTarget["muxer"], string> = { mp3: "mp3", ipod: "mov", ogg: "ogg" };

/**
 * Runs one transcode and checks what it wrote: ffmpeg can exit 0 having written nothing or a
 * file without the stream we asked for, so the output is probed for a stream of the expected
 * codec and a positive duration before it counts.
 */
export async function runTranscode(options: TranscodeRunOptions): Promise<TranscodeOutcome> {
  const { target } = options;
  await runFfmpeg({
    args: [
      ...safeInputArgs(options.inputPath, { demuxers: AUDIO_DEMUXERS, format: options.demuxer }),
      ...transcodeOutputArgs(target, options.outputPath, options.maxDurationSec),
    ],
    signal: options.signal,
    durationSec: options.durationSec,
    onProgress: (progress) => {
      if (progress.percent !== undefined) options.onPercent?.(progress.percent);
    },
  });
  const bytes = await stat(options.outputPath).then((info) => info.size, () => 0);
  if (bytes === 0) throw processingError("transcode-empty", `the ${target.format} transcode wrote no data`);
  const probe = await probeMedia(options.outputPath, { signal: options.signal, demuxers: [OUTPUT_DEMUXERS[target.muxer]] });
  const durationSec = probe.audio?.durationSec ?? probe.durationSec ?? 0;
  if (probe.audio?.codec !== target.codecName || !(durationSec > 0)) {
    throw processingError(
      "transcode-invalid",
      `the ${target.format} transcode has ${probe.audio ? `a ${probe.audio.codec} stream` : "no audio stream"} of ${durationSec.toFixed(2)} s, expected ${target.codecName}`,
    );
  }
  options.onPercent?.(100);
  return { target, outputPath: options.outputPath, bytes, durationSec };
}

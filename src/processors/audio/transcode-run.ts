import { stat } from "node:fs/promises";
import { processingError } from "../../errors.ts";
import { runFfmpeg, safeInputArgs, AUDIO_DEMUXERS } from "../../media/ffmpeg.runner.ts";
import { detectFileType } from "../../media/detect-type.ts";
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
  /** Duration of the written audio as ffmpeg reported muxing it (its final `-progress` out_time). */
  durationSec: number;
}

/** What detect-type.ts reads from the head of each muxer's output. */
const OUTPUT_FORMATS: Record<TranscodeTarget["muxer"], string> = { mp3: "mp3", ipod: "m4a", ogg: "ogg" };

/**
 * Runs one transcode and checks what it wrote: ffmpeg can exit 0 having written nothing, so the
 * output must have bytes, start with the container asked for, and ffmpeg's final progress report
 * must show audio muxed. The stream's codec needs no check: `-map 0:a:0` fails the run when there
 * is no audio stream, and the encoder is named (or `copy` of a source of that codec). This used to
 * be an ffprobe of each output: 3 of the job's 8 tool processes, ~7 % of an audio job's CPU
 * (issue 20); the duration it read differs from ffmpeg's own by less than one codec frame.
 */
export async function runTranscode(options: TranscodeRunOptions): Promise<TranscodeOutcome> {
  const { target } = options;
  const run = await runFfmpeg({
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
  const bytes = await stat(options.outputPath).then(
    (info) => info.size,
    () => 0,
  );
  if (bytes === 0) throw processingError("transcode-empty", `the ${target.format} transcode wrote no data`);
  const written = (await detectFileType(options.outputPath)).format;
  const durationSec = run.lastProgress?.done ? run.lastProgress.outTimeSec : 0;
  if (written !== OUTPUT_FORMATS[target.muxer] || !(durationSec > 0)) {
    throw processingError(
      "transcode-invalid",
      `the ${target.format} transcode wrote ${written} data with ${durationSec.toFixed(2)} s of audio, expected ${OUTPUT_FORMATS[target.muxer]} with ${target.codecName}`,
    );
  }
  options.onPercent?.(100);
  return { target, outputPath: options.outputPath, bytes, durationSec };
}

import { MediaError, processingError, resourceError } from "../errors.ts";
import { FfmpegProgressParser, type FfmpegProgress } from "./ffmpeg-progress.ts";
import { findUnsafeArguments } from "./safe-input.ts";
import { runTool, type ToolRunResult } from "./tool-process.ts";

export type { FfmpegProgress } from "./ffmpeg-progress.ts";
export { safeInputArgs, demuxerForProbedFormat, VIDEO_DEMUXERS, AUDIO_DEMUXERS, MEDIA_DEMUXERS } from "./safe-input.ts";

/**
 * The one way the worker runs ffmpeg. Usage:
 *
 * ```ts
 * await runFfmpeg({
 *   args: [...safeInputArgs(ctx.inputPath, { demuxers: AUDIO_DEMUXERS, format: "mp3" }), "-vn", "-c:a", "aac", "-y", out],
 *   durationSec: probe.format.durationSec,
 *   signal: ctx.signal,
 *   onProgress: (p) => p.percent !== undefined && ctx.progress(p.percent, "encode"),
 * });
 * ```
 *
 * The runner prepends {@link FFMPEG_GLOBAL_ARGS}, refuses argument lists that break the input
 * safety rules (see safe-input.ts), kills the process group on abort/timeout, and turns every
 * failure into a MediaError. A zero exit is not proof of an output: callers check their files.
 */
export interface FfmpegRunOptions {
  /** Everything after the global flags: inputs (built with `safeInputArgs`), filters, outputs. */
  args: readonly string[];
  /** Aborting kills ffmpeg's process group at once; the run throws the abort's MediaError. */
  signal?: AbortSignal | undefined;
  /** Kills ffmpeg after this many milliseconds (`resource`/`ffmpeg-timeout`). Undefined = only the signal limits it. */
  timeoutMs?: number | undefined;
  /** Expected output duration in seconds; when given, progress carries a percentage. */
  durationSec?: number | undefined;
  /** Called for each `-progress` block (about twice a second, and once at the end). */
  onProgress?: ((progress: FfmpegProgress) => void) | undefined;
  /** ffmpeg executable. Default: `ffmpeg` on PATH. */
  binary?: string | undefined;
  /**
   * Receives ffmpeg's stdout as raw bytes, for runs whose output is `pipe:1` (PCM for a
   * waveform). stdout then carries data, so `-progress` is not requested and `onProgress` is
   * never called; the caller measures progress from the bytes it receives.
   */
  onStdoutData?: ((chunk: Buffer) => void) | undefined;
  /**
   * Skip the input safety check. Only for inputs the code generates itself (lavfi test
   * sources in tests and benchmarks); never for anything that came from an upload.
   */
  trustedInputs?: boolean | undefined;
}

export interface FfmpegRunResult {
  elapsedMs: number;
  /** The last progress block ffmpeg reported (speed, out time), if any. */
  lastProgress: FfmpegProgress | undefined;
  /** Warnings ffmpeg printed at `-loglevel error` despite succeeding (usually empty). */
  stderrTail: string;
}

/**
 * Prepended to every run: no stdin (a stray read would block the job), no banner, errors only
 * on stderr (so its tail is the error message), machine-readable progress on stdout.
 */
export const FFMPEG_GLOBAL_ARGS: readonly string[] = [
  "-nostdin",
  "-hide_banner",
  "-loglevel",
  "error",
  "-progress",
  "pipe:1",
  "-nostats",
];

/** The global flags of a run whose stdout carries output data: the same, minus `-progress pipe:1`. */
export const FFMPEG_GLOBAL_ARGS_STDOUT_DATA: readonly string[] = [
  "-nostdin",
  "-hide_banner",
  "-loglevel",
  "error",
  "-nostats",
];

/** The full argument array a run executes (pure; for tests and logs). */
export function ffmpegCommandArgs(args: readonly string[], options: { stdoutData?: boolean } = {}): string[] {
  return [...(options.stdoutData ? FFMPEG_GLOBAL_ARGS_STDOUT_DATA : FFMPEG_GLOBAL_ARGS), ...args];
}

/** Runs ffmpeg to completion; resolves only on exit code 0. */
export async function runFfmpeg(options: FfmpegRunOptions): Promise<FfmpegRunResult> {
  if (!options.trustedInputs) {
    const problems = findUnsafeArguments(options.args);
    if (problems.length > 0) throw new Error(`refusing to run ffmpeg with unsafe arguments: ${problems.join("; ")}`);
  }
  const parser = new FfmpegProgressParser(options.durationSec);
  let lastProgress: FfmpegProgress | undefined;
  const result = await runTool({
    binary: options.binary ?? "ffmpeg",
    args: ffmpegCommandArgs(options.args, { stdoutData: options.onStdoutData !== undefined }),
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    ...(options.onStdoutData
      ? { onStdoutBytes: options.onStdoutData }
      : {
          onStdout: (chunk: string) => {
            for (const progress of parser.push(chunk)) {
              lastProgress = progress;
              options.onProgress?.(progress);
            }
          },
        }),
  });
  if (result.exitCode !== 0 || result.timedOut) throw classifyToolFailure("ffmpeg", result, options.timeoutMs);
  return { elapsedMs: result.elapsedMs, lastProgress, stderrTail: result.stderrTail };
}

/** The last few stderr lines, short enough for a job record's error message. */
export function stderrSummary(stderrTail: string, maxChars = 600): string {
  const lines = stderrTail
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const summary = lines.slice(-4).join(" | ");
  return summary.length > maxChars ? `…${summary.slice(summary.length - maxChars)}` : summary;
}

/**
 * Maps a failed ffmpeg/ffprobe run to a MediaError (pure). Inputs refused by the format
 * whitelist, a full disk, memory exhaustion and outside kills get their own codes; anything
 * else is `processing`/`<tool>-failed` carrying the stderr tail, since the usual cause is the input.
 */
export function classifyToolFailure(
  tool: "ffmpeg" | "ffprobe",
  result: Pick<ToolRunResult, "exitCode" | "exitSignal" | "stderrTail" | "timedOut">,
  timeoutMs?: number,
): MediaError {
  const summary = stderrSummary(result.stderrTail);
  const detail = { tool, exitCode: result.exitCode, exitSignal: result.exitSignal, stderrTail: result.stderrTail };
  if (result.timedOut) {
    return new MediaError(`${tool} ran longer than its ${timeoutMs ?? "?"} ms limit`, {
      code: `${tool}-timeout`,
      category: "resource",
      detail,
    });
  }
  if (result.stderrTail.includes("Format not on whitelist")) {
    return processingError(
      "format-refused",
      `${tool} refused the input: its format is not an accepted media container (playlists and concat lists are never opened)`,
      undefined,
      detail,
    );
  }
  if (/No space left on device/i.test(result.stderrTail)) {
    return new MediaError(`${tool}: temp disk is full`, {
      code: "disk-full",
      category: "resource",
      retryable: true,
      detail,
    });
  }
  if (/Cannot allocate memory/i.test(result.stderrTail)) {
    return new MediaError(`${tool}: out of memory`, { code: "out-of-memory", category: "resource", detail });
  }
  if (result.exitSignal !== null) {
    // Not ours (our kills are reported as aborts or timeouts): most often the kernel's OOM killer.
    return resourceError(
      `${tool}-killed`,
      `${tool} was killed by ${result.exitSignal}${summary ? `: ${summary}` : ""}`,
    );
  }
  return processingError(
    `${tool}-failed`,
    `${tool} exited with code ${result.exitCode}${summary ? `: ${summary}` : ""}`,
    undefined,
    detail,
  );
}

import { runFfmpeg } from "./ffmpeg.runner.ts";
import type { MediaProbe } from "./ffprobe.ts";
import { safeInputArgs } from "./safe-input.ts";

/**
 * The real duration of a file whose header does not tell it, or tells something not worth
 * trusting, measured by a bounded scan: ffmpeg demuxes the one stream and copies its packets
 * to nowhere (no decoding: about as fast as the disk reads), and the last packet's time plus one
 * frame is the duration. Bounded by the job's signal and a timeout; the input is already bounded
 * by MAX_INPUT_BYTES.
 */

/**
 * Why a probe's duration needs the scan, or undefined when it can be used as it is (pure).
 * - `unknown`: no duration, or a header saying "unknown" (a fragmented MP4's all-ones mdhd).
 * - `estimated`: a raw elementary stream (`.m2v`, `.m1v`), whose duration ffprobe only guesses
 *   from the bitrate (a 1 s MPEG-1 stream was "0.01 s").
 * - `over-limit`: over the operator's cap; measured before refusing, since a short file with a
 *   lying header must not be refused for a length it does not have.
 */
export function durationScanReason(
  probe: Pick<MediaProbe, "durationSec" | "durationUnknown" | "format">,
  limitSec: number,
): "unknown" | "estimated" | "over-limit" | undefined {
  if (probe.durationUnknown || probe.durationSec === undefined || probe.durationSec <= 0) return "unknown";
  if (RAW_STREAM_DEMUXERS.has(probe.format.demuxer ?? "")) return "estimated";
  if (probe.durationSec > limitSec) return "over-limit";
  return undefined;
}

/** Demuxers of headerless streams: their durations are estimates. */
const RAW_STREAM_DEMUXERS = new Set(["mpegvideo", "aac", "mp3", "amr"]);

export interface DurationScanRequest {
  inputPath: string;
  demuxers: readonly string[];
  demuxer: string;
  streamIndex: number;
  /** The stream's frame rate (one frame is added to the last packet's start time); undefined for audio. */
  fps: number | undefined;
  signal: AbortSignal;
  timeoutMs: number;
}

/** The scan's argument array (pure): `… -map 0:<index> -c copy -f null -`. */
export function durationScanArgs(
  request: Pick<DurationScanRequest, "inputPath" | "demuxers" | "demuxer" | "streamIndex">,
): string[] {
  return [
    ...safeInputArgs(request.inputPath, { demuxers: request.demuxers, format: request.demuxer }),
    "-map",
    `0:${request.streamIndex}`,
    "-c",
    "copy",
    "-f",
    "null",
    "-",
  ];
}

/** Seconds from the first to past the last packet of the stream, or undefined if it holds none. */
export async function scanDuration(request: DurationScanRequest): Promise<number | undefined> {
  const run = await runFfmpeg({
    args: durationScanArgs(request),
    signal: request.signal,
    timeoutMs: request.timeoutMs,
  });
  const lastStart = run.lastProgress?.outTimeSec;
  if (lastStart === undefined || !Number.isFinite(lastStart) || (run.lastProgress?.frame ?? 1) === 0) return undefined;
  const frame = request.fps !== undefined && request.fps > 0 ? 1 / request.fps : 0;
  return Math.round((Math.max(0, lastStart) + frame) * 1000) / 1000;
}

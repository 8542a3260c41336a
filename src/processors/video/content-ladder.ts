import path from "node:path";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import {
  frameRateOptions,
  keyframeOptions,
  planFrameRate,
  STRIP_METADATA,
  videoFilterGraph,
  x264Options,
  type VideoEncodeSettings,
  type VideoEncodeSource,
} from "./encode-options.ts";
import type { PlannedRung } from "./ladder-plan.ts";

/**
 * The content-aware ladder (VIDEO_CONTENT_AWARE_LADDER), pure: which seconds to sample, the
 * probe command, and how the probe turns into rungs. A few seconds sampled across the clip are
 * encoded at every rung's size at one CRF; the bitrate each lands at is what this content needs
 * for that quality. Each rung is then encoded at that CRF (quality-driven, like the probe) under
 * a cap picked for the content: the probe's bitrate plus headroom for the stretches the sample
 * missed, and never below a floor. A rung whose content needs the fixed ladder's bitrate or
 * more stays exactly the fixed rung, so no rung costs more than today. A talking head or a
 * cartoon needs a fraction of what a football match needs: those rungs shrink; hard content
 * gets what the fixed ladder gives. Why CRF under a cap rather than the probe's bitrate as an
 * average target: at equal bytes x264's average-bitrate mode scored lower SSIM than CRF on easy
 * content in npm run bench (quality area), which prints bytes and SSIM of all three.
 */

export interface ProbeWindow {
  startSec: number;
  durationSec: number;
}

/** Windows sampled: start, middle and end of a clip say more than one stretch of the same length. */
export const PROBE_WINDOW_COUNT = 3;

/**
 * The cap sits this far above the sampled CRF bitrate: a rung's local rate swings around its
 * average, and the sample can miss the clip's hardest stretch.
 */
export const CAP_HEADROOM = 1.5;

/**
 * No rung's cap drops below this share of its configured bitrate: the probe sees a few seconds,
 * so a clip that is easy where it was sampled and hard elsewhere keeps a usable ceiling.
 */
export const MIN_CONTENT_SHARE = 0.1;

/** Below this many bytes a rung's probe output is taken as failed and the rung keeps its bitrate. */
const MIN_PROBE_BYTES = 512;
const MIN_VIDEO_KBPS = 150;

/**
 * `windowCount` windows of `totalSec / windowCount` seconds centred at 1/6, 3/6 and 5/6 of
 * the duration (for three); the whole clip as one window when it is not longer than `totalSec`
 * or its duration is unknown.
 */
export function probeWindows(
  durationSec: number | undefined,
  totalSec: number,
  windowCount = PROBE_WINDOW_COUNT,
): ProbeWindow[] {
  if (durationSec === undefined || !(durationSec > 0) || durationSec <= totalSec)
    return [{ startSec: 0, durationSec: durationSec && durationSec > 0 ? durationSec : totalSec }];
  const length = totalSec / windowCount;
  return Array.from({ length: windowCount }, (_, index) => {
    const centre = (durationSec * (2 * index + 1)) / (2 * windowCount);
    const startSec = Math.min(Math.max(0, centre - length / 2), durationSec - length);
    return { startSec: round3(startSec), durationSec: round3(length) };
  });
}

export interface ContentProbeCommandInput {
  inputPath: string;
  demuxer: string | undefined;
  source: VideoEncodeSource;
  rungs: readonly PlannedRung[];
  settings: VideoEncodeSettings;
  windows: readonly ProbeWindow[];
  crf: number;
  outDir: string;
}

/** Raw H.264 file of one rung's probe: its size is the video bitstream alone, no container. */
export const probeOutputFile = (outDir: string, index: number): string => path.join(outDir, `probe-${index}.h264`);

/**
 * One ffmpeg run: the source opened once per window with a fast seek (`-ss`/`-t` before `-i`),
 * the windows concatenated, then the ladder's own filter graph (fps cap, HDR tone map, one
 * scale per rung) and one CRF encode per rung with the ladder's preset and keyframe grid.
 */
export function contentProbeArgs(input: ContentProbeCommandInput): string[] {
  const { source, windows } = input;
  if (windows.length === 0) throw new Error("the content probe needs at least one window");
  const inputs = windows.flatMap((window) =>
    safeInputArgs(input.inputPath, {
      demuxers: VIDEO_DEMUXERS,
      format: input.demuxer,
      before: ["-ss", window.startSec.toFixed(3), "-t", window.durationSec.toFixed(3)],
    }),
  );
  const streamLabel = `[0:${source.videoStreamIndex}]`;
  const ladderGraph = videoFilterGraph(source, input.rungs, input.settings, 0);
  const graph =
    windows.length === 1
      ? ladderGraph
      : `${windows.map((_, index) => `[${index}:${source.videoStreamIndex}]`).join("")}concat=n=${windows.length}:v=1:a=0[probe_in];${ladderGraph.split(streamLabel).join("[probe_in]")}`;
  // The ladder's own frame timing, so a VFR source's probe is not inflated by duplicated frames.
  const frameRate = planFrameRate(source, input.settings.maxFps);
  const outputs = input.rungs.flatMap((_, index) => [
    "-map",
    `[v${index}]`,
    ...STRIP_METADATA,
    ...x264Options(input.settings.x264Preset),
    "-crf",
    String(input.crf),
    ...frameRateOptions(frameRate),
    ...keyframeOptions(input.settings.keyframeSeconds, frameRate.fps),
    "-an",
    "-f",
    "h264",
    "-y",
    probeOutputFile(input.outDir, index),
  ]);
  return [...inputs, "-filter_complex", graph, ...outputs];
}

export interface RungProbe {
  /** Bytes of the rung's probe bitstream; undefined when it was not written. */
  bytes: number | undefined;
}

export interface FittedRung {
  rung: PlannedRung;
  /** The content's bitrate at the probe's CRF, kbit/s; undefined when the probe failed for this rung. */
  probeKbps: number | undefined;
  configuredKbps: number;
}

/** Kbit/s of a probe output over the sampled seconds (pure). */
export function probeKbps(bytes: number | undefined, sampledSec: number): number | undefined {
  if (bytes === undefined || bytes < MIN_PROBE_BYTES || !(sampledSec > 0)) return undefined;
  return (bytes * 8) / 1000 / sampledSec;
}

/**
 * Each rung from its probe (pure): CRF `crf` under a cap of probe × headroom, at least the
 * floor; the VBV buffer keeps the rung's own ratio to its bitrate; `videoKbps` becomes the cap.
 * A rung whose content needs its configured bitrate or more, or whose probe failed, stays
 * exactly as configured (average bitrate).
 */
export function fitRungsToContent(
  rungs: readonly PlannedRung[],
  probes: readonly RungProbe[],
  sampledSec: number,
  crf: number,
): FittedRung[] {
  return rungs.map((rung, index) => {
    const measured = probeKbps(probes[index]?.bytes, sampledSec);
    if (measured === undefined) return { rung: { ...rung }, probeKbps: undefined, configuredKbps: rung.videoKbps };
    // Content that needs the configured bitrate or more keeps the fixed rung exactly: CRF under a
    // VBV cap may overshoot the cap's average on a short clip (the buffer starts full), the fixed target does not.
    if (measured * CAP_HEADROOM >= rung.videoKbps)
      return { rung: { ...rung }, probeKbps: Math.round(measured), configuredKbps: rung.videoKbps };
    const floor = Math.max(MIN_VIDEO_KBPS, rung.videoKbps * MIN_CONTENT_SHARE);
    const cap = Math.round(Math.min(rung.videoKbps, Math.max(floor, measured * CAP_HEADROOM)));
    return {
      rung: {
        ...rung,
        crf,
        videoKbps: cap,
        maxrateKbps: cap,
        bufsizeKbps: Math.round((rung.bufsizeKbps * cap) / rung.videoKbps),
      },
      probeKbps: Math.round(measured),
      configuredKbps: rung.videoKbps,
    };
  });
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

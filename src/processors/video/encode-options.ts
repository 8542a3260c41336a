import type { PlannedRung } from "./ladder-plan.ts";
import { toneMapFilters, type ToneMapSource } from "./tone-map.ts";

/**
 * Pieces shared by the HLS ladder and the web MP4 commands (pure): the filter graph that
 * decodes once and scales per rendition, and the x264/AAC options.
 */
export interface VideoEncodeSource {
  /** Absolute stream index of the video stream in the input (ffprobe's `index`). */
  videoStreamIndex: number;
  /** Absolute index of the audio stream, undefined when the source has none. */
  audioStreamIndex: number | undefined;
  /** Source frame rate as measured (frames over time: ffprobe's avg_frame_rate); above `maxFps` it is reduced. */
  fps: number | undefined;
  /**
   * The stream's base rate (r_frame_rate): the finest cadence its timestamps use. Far above
   * `fps` for variable-frame-rate video (a phone clip averaging 30 fps on a 1/120 s grid).
   */
  baseFps?: number | undefined;
  durationSec: number | undefined;
  /** Set for an HDR source that is tone-mapped to SDR BT.709 (VIDEO_HDR_TONE_MAP); undefined = frames pass as they are. */
  toneMap?: ToneMapSource | undefined;
}

export interface VideoEncodeSettings {
  x264Preset: string;
  maxFps: number;
  segmentSeconds: number;
  /** Forced keyframe spacing in seconds; divides segmentSeconds. */
  keyframeSeconds: number;
  /** Give a source without audio a silent AAC track. */
  addSilentAudio: boolean;
}

export const AUDIO_SAMPLE_RATE = 48_000;

/**
 * How frames are timed in the outputs (pure):
 * - `cfr-cap`: the source really is faster than the cap (slow-motion phone video, a 120 fps
 *   game capture): the `fps` filter makes it constant at the cap.
 * - `vfr`: the source's frames are irregular (its base rate is well above its measured rate).
 *   ffmpeg's HLS and MP4 muxers would otherwise make it constant at the base rate — a clip of
 *   53 frames averaging 30 fps on a 1/120 s grid came out as 212 frames at 120 fps, every frame
 *   four times, over the cap. Frames keep their own timestamps (`-fps_mode vfr`); when the base
 *   rate is above the cap, a frame closer than 1/cap to the last kept one is dropped, so no
 *   stretch of the output runs faster than the cap.
 * - `source`: constant-rate video within the cap passes as it is.
 */
export type FrameRatePlan =
  | { mode: "source"; fps: number | undefined }
  | { mode: "cfr-cap"; fps: number }
  | { mode: "vfr"; fps: number | undefined; capBursts: boolean };

/** A base rate this much above the measured rate means the frames are irregular. */
const VFR_RATIO = 1.05;

export function planFrameRate(source: Pick<VideoEncodeSource, "fps" | "baseFps">, maxFps: number): FrameRatePlan {
  const measured = source.fps ?? source.baseFps;
  if (measured !== undefined && measured > maxFps + 0.01) return { mode: "cfr-cap", fps: maxFps };
  if (source.fps !== undefined && source.baseFps !== undefined && source.baseFps > source.fps * VFR_RATIO) {
    return { mode: "vfr", fps: source.fps, capBursts: source.baseFps > maxFps + 0.01 };
  }
  return { mode: "source", fps: measured };
}

/**
 * The frame-rate grid the outputs are expected to have (pure), for describing a rendition
 * without probing it again; undefined when only the output can say. `cfr-cap`: the fps filter's
 * rate. `source`: the rate ffmpeg 5.1 gives a constant-rate output, its av_guess_frame_rate():
 * the stream's base rate, or its measured rate when the base is a timestamp grid far above it.
 * `vfr`: frames keep their own times, so the grid is whatever the muxer writes.
 * rendition-stats.ts uses it only when the frames ffmpeg reported encoding confirm it.
 */
export function expectedOutputFps(
  source: Pick<VideoEncodeSource, "fps" | "baseFps">,
  maxFps: number,
): number | undefined {
  const plan = planFrameRate(source, maxFps);
  if (plan.mode === "cfr-cap") return plan.fps;
  if (plan.mode === "vfr") return undefined;
  if (source.fps !== undefined && source.baseFps !== undefined && source.fps < 70 && source.baseFps > 210)
    return source.fps;
  return source.baseFps ?? source.fps;
}

/** The filter that applies the plan at the head of the graph ("" when none is needed). */
export function frameRateFilter(plan: FrameRatePlan, maxFps: number): string {
  if (plan.mode === "cfr-cap") return `fps=${plan.fps},`;
  // Keeps the first frame and every frame at least 1/cap after the previous kept one (0.5 ms of
  // slack for timestamps rounded to the container's time base).
  if (plan.mode === "vfr" && plan.capBursts)
    return `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${(1 / maxFps - 0.0005).toFixed(6)}),`;
  return "";
}

/**
 * Output options of the plan. In `vfr` mode frames keep their timestamps, and each packet's
 * duration is set to the time until the next one (`setts`): ffmpeg 5.1 gives every packet one
 * tick of the base rate, and the HLS muxer sums packet durations into EXTINF, so a 1.74 s VFR
 * clip was listed as 0.44 s.
 */
export function frameRateOptions(plan: FrameRatePlan): string[] {
  return plan.mode === "vfr"
    ? ["-fps_mode", "vfr", "-bsf:v", "setts=duration=if(eq(NEXT_DTS\\,NOPTS)\\,DURATION\\,NEXT_DTS-DTS)"]
    : [];
}

/**
 * `[0:<v>]` → optional fps cap → split into one branch per rendition → scale to its exact size.
 * ffmpeg's autorotate has already turned the frames upright when they enter the graph, so the
 * sizes are the displayed ones; `setsar=1` drops non-square pixels the scale already stretched.
 * An HDR source is first scaled to the largest rendition (never larger: a 4K phone clip does
 * the float conversion at 1080p, a quarter of the pixels; odd and non-square sources become
 * even and square, which zscale's 4:2:0 output needs) and tone-mapped there, once, before the
 * split; the rungs then scale 8-bit SDR frames (the top rung's scale is a pass-through).
 * Also builds the silent audio branches when asked to invent audio.
 */
/**
 * One frame of the decoded video, taken by the encode's own filter graph as one more branch of
 * its split (issue 20): the first frame at or after `atSec` (from the video's start, whatever its
 * first timestamp), scaled like the poster (lanczos, after the tone map when there is one), as
 * 8-bit RGB for a PNG. The branch ends after that frame, so it costs one scale, not a decode.
 */
export interface FrameBranch {
  atSec: number;
  width: number;
  height: number;
}

/** The label of the frame branch's output in the graph. */
export const FRAME_BRANCH_LABEL = "poster";

export function videoFilterGraph(
  source: VideoEncodeSource,
  renditions: ReadonlyArray<Pick<PlannedRung, "width" | "height">>,
  settings: VideoEncodeSettings,
  silentAudioCount: number,
  frame?: FrameBranch | undefined,
): string {
  const chains: string[] = [];
  const pre =
    frameRateFilter(planFrameRate(source, settings.maxFps), settings.maxFps) +
    (source.toneMap ? toneMapBeforeSplit(source.toneMap, renditions) : "");
  const scale = (rendition: Pick<PlannedRung, "width" | "height">) =>
    `scale=w=${rendition.width}:h=${rendition.height}:flags=bicubic,setsar=1,format=yuv420p`;
  const branches = renditions.length + (frame ? 1 : 0);
  if (branches === 1) {
    chains.push(`[0:${source.videoStreamIndex}]${pre}${scale(renditions[0]!)}[v0]`);
  } else {
    const labels = Array.from({ length: branches }, (_, index) => `[s${index}]`).join("");
    chains.push(`[0:${source.videoStreamIndex}]${pre}split=${branches}${labels}`);
    for (const [index, rendition] of renditions.entries()) chains.push(`[s${index}]${scale(rendition)}[v${index}]`);
    if (frame)
      chains.push(
        `[s${renditions.length}]setpts=PTS-STARTPTS,trim=start=${frame.atSec.toFixed(3)},trim=end_frame=1,` +
          `scale=w=${frame.width}:h=${frame.height}:flags=lanczos,setsar=1,format=rgb24[${FRAME_BRANCH_LABEL}]`,
      );
  }
  if (silentAudioCount > 0) {
    const duration = source.durationSec !== undefined && source.durationSec > 0 ? source.durationSec.toFixed(3) : "1";
    const silent = `anullsrc=channel_layout=stereo:sample_rate=${AUDIO_SAMPLE_RATE},atrim=duration=${duration}`;
    if (silentAudioCount === 1) chains.push(`${silent}[a0]`);
    else
      chains.push(
        `${silent},asplit=${silentAudioCount}${Array.from({ length: silentAudioCount }, (_, index) => `[a${index}]`).join("")}`,
      );
  }
  return chains.join(";");
}

function toneMapBeforeSplit(
  toneMap: ToneMapSource,
  renditions: ReadonlyArray<Pick<PlannedRung, "width" | "height">>,
): string {
  const top = renditions.reduce((largest, rendition) =>
    rendition.width * rendition.height > largest.width * largest.height ? rendition : largest,
  );
  return `scale=w=${top.width}:h=${top.height}:flags=bicubic,setsar=1,${toneMapFilters(toneMap)},`;
}

/** libx264 High profile, 8-bit 4:2:0: what every HLS and MP4 player decodes. */
/**
 * Rate control of video stream `index` (one rung of a ladder run): a CRF rung (content-aware
 * ladder) spends what its content needs up to maxrate; otherwise the videoKbps target.
 */
export function rungRateOptions(
  rung: Pick<PlannedRung, "crf" | "videoKbps" | "maxrateKbps" | "bufsizeKbps">,
  index: number,
): string[] {
  return [
    ...(rung.crf !== undefined ? [`-crf:v:${index}`, String(rung.crf)] : [`-b:v:${index}`, `${rung.videoKbps}k`]),
    `-maxrate:v:${index}`,
    `${rung.maxrateKbps}k`,
    `-bufsize:v:${index}`,
    `${rung.bufsizeKbps}k`,
  ];
}

export function x264Options(preset: string): string[] {
  return ["-c:v", "libx264", "-preset", preset, "-profile:v", "high"];
}

/**
 * Keyframes on a fixed time grid, identical in every rendition (they share one decoded
 * timeline). The grid divides the segment length, so every segment starts with a keyframe and
 * players can switch rungs at any boundary; a 2 s grid in 6 s segments (Apple's HLS authoring
 * spec) also lets a player seek or start within 2 s and gives an I-frame every 2 s for trick play.
 * Scene-cut keyframes are off so x264 adds none in between; `-g` is one interval of frames.
 */
export function keyframeOptions(keyframeSeconds: number, fps: number | undefined): string[] {
  const gop = Math.max(1, Math.ceil((fps ?? 30) * keyframeSeconds));
  return [
    "-g",
    String(gop),
    "-keyint_min",
    String(gop),
    "-sc_threshold",
    "0",
    "-force_key_frames",
    `expr:gte(t,n_forced*${keyframeSeconds})`,
  ];
}

/** AAC-LC stereo at 48 kHz (the HLS authoring spec's recommendation). */
export function aacOptions(): string[] {
  return ["-c:a", "aac", "-ac", "2", "-ar", String(AUDIO_SAMPLE_RATE)];
}

/**
 * Source metadata and chapters are not copied: phone videos carry GPS position and device
 * details that a public rendition should not repeat.
 */
export const STRIP_METADATA: readonly string[] = ["-map_metadata", "-1", "-map_chapters", "-1"];

/**
 * With one decoder feeding several encoders, the faster encoders' packets wait for the slower
 * ones in the muxer queue; the default queue is small enough to abort long 1080p ladders.
 */
export const MUXING_QUEUE: readonly string[] = ["-max_muxing_queue_size", "4096"];

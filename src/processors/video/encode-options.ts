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
  /** Source frame rate; above `maxFps` it is reduced. */
  fps: number | undefined;
  durationSec: number | undefined;
  /** Set for an HDR source that is tone-mapped to SDR BT.709 (VIDEO_HDR_TONE_MAP); undefined = frames pass as they are. */
  toneMap?: ToneMapSource | undefined;
}

export interface VideoEncodeSettings {
  x264Preset: string;
  maxFps: number;
  segmentSeconds: number;
  /** Give a source without audio a silent AAC track. */
  addSilentAudio: boolean;
}

export const AUDIO_SAMPLE_RATE = 48_000;

/** Output frame rate: the source's, or the cap when the source is faster (slow-motion phone video). */
export function outputFps(source: Pick<VideoEncodeSource, "fps">, maxFps: number): number | undefined {
  return source.fps !== undefined && source.fps > maxFps + 0.01 ? maxFps : undefined;
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
export function videoFilterGraph(source: VideoEncodeSource, renditions: ReadonlyArray<Pick<PlannedRung, "width" | "height">>, settings: VideoEncodeSettings, silentAudioCount: number): string {
  const chains: string[] = [];
  const fps = outputFps(source, settings.maxFps);
  const pre = (fps !== undefined ? `fps=${fps},` : "") + (source.toneMap ? toneMapBeforeSplit(source.toneMap, renditions) : "");
  const scale = (rendition: Pick<PlannedRung, "width" | "height">) => `scale=w=${rendition.width}:h=${rendition.height}:flags=bicubic,setsar=1,format=yuv420p`;
  if (renditions.length === 1) {
    chains.push(`[0:${source.videoStreamIndex}]${pre}${scale(renditions[0]!)}[v0]`);
  } else {
    const labels = renditions.map((_, index) => `[s${index}]`).join("");
    chains.push(`[0:${source.videoStreamIndex}]${pre}split=${renditions.length}${labels}`);
    renditions.forEach((rendition, index) => chains.push(`[s${index}]${scale(rendition)}[v${index}]`));
  }
  if (silentAudioCount > 0) {
    const duration = source.durationSec !== undefined && source.durationSec > 0 ? source.durationSec.toFixed(3) : "1";
    const silent = `anullsrc=channel_layout=stereo:sample_rate=${AUDIO_SAMPLE_RATE},atrim=duration=${duration}`;
    if (silentAudioCount === 1) chains.push(`${silent}[a0]`);
    else chains.push(`${silent},asplit=${silentAudioCount}${Array.from({ length: silentAudioCount }, (_, index) => `[a${index}]`).join("")}`);
  }
  return chains.join(";");
}

function toneMapBeforeSplit(toneMap: ToneMapSource, renditions: ReadonlyArray<Pick<PlannedRung, "width" | "height">>): string {
  const top = renditions.reduce((largest, rendition) => (rendition.width * rendition.height > largest.width * largest.height ? rendition : largest));
  return `scale=w=${top.width}:h=${top.height}:flags=bicubic,setsar=1,${toneMapFilters(toneMap)},`;
}

/** libx264 High profile, 8-bit 4:2:0: what every HLS and MP4 player decodes. */
export function x264Options(preset: string): string[] {
  return ["-c:v", "libx264", "-preset", preset, "-profile:v", "high"];
}

/**
 * Keyframes on a fixed time grid, identical in every rendition (they share one decoded
 * timeline), so segments start with a keyframe and players can switch rungs at any boundary.
 * Scene-cut keyframes are off so x264 adds none in between; `-g` is one segment of frames.
 */
export function keyframeOptions(segmentSeconds: number, fps: number | undefined): string[] {
  const gop = Math.max(1, Math.ceil((fps ?? 30) * segmentSeconds));
  return ["-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-force_key_frames", `expr:gte(t,n_forced*${segmentSeconds})`];
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

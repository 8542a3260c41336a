import type { HlsRungSpec } from "../../config/config.schema.ts";

/**
 * Decides the HLS ladder for one source (pure). A rung named `720` is a 16:9 box 720 pixels
 * high — 1280×720 for landscape, turned to 720×1280 for portrait — and the source is fitted
 * into it keeping its displayed aspect. Rungs whose box the source already fits in would be
 * upscales: the first of them is kept at the source's own size and the rest are dropped, so
 * a source smaller than the lowest rung gets exactly one rung at its own size.
 */
export interface LadderSource {
  /** Displayed size: rotation applied, non-square pixels stretched (MediaProbe's displayWidth/Height). */
  width: number;
  height: number;
  /** Overall source bitrate in bit/s, when known; rungs never spend much more than it. */
  bitRate?: number | undefined;
}

export interface PlannedRung {
  /** Rendition name and folder: the short side in pixels, e.g. `720p`. */
  name: string;
  width: number;
  height: number;
  /** Target average video bitrate in kbit/s. */
  videoKbps: number;
  /** Rate cap and VBV buffer (capped VBR keeps segment sizes near the advertised bandwidth). */
  maxrateKbps: number;
  bufsizeKbps: number;
  audioKbps: number;
  /** True for the rung at the source's own size (the top of the ladder). */
  native: boolean;
  /** Quality-driven rate control: x264 CRF under maxrate/bufsize instead of the videoKbps target (content-aware ladder, content-ladder.ts). */
  crf?: number;
}

/** The peak rate allowed above the average: Apple's authoring spec asks peak ≤ 200 % of average for VOD; we stay well inside. */
const MAXRATE_FACTOR = 1.2;
const BUFSIZE_FACTOR = 2;
/** A rung fitted far below its box still gets at least this share of the rung's bitrate. */
const MIN_BITRATE_SHARE = 0.25;
/** Re-encoding cannot add detail: no rung spends more than this multiple of the source's bitrate. */
const SOURCE_BITRATE_HEADROOM = 1.5;
const MIN_VIDEO_KBPS = 150;

/** Rounds to the nearest even number (H.264 4:2:0 needs even sides), at least 2. */
export const toEven = (value: number): number => Math.max(2, Math.round(value / 2) * 2);
const floorEven = (value: number): number => Math.max(2, Math.floor(value / 2) * 2);

export function planLadder(source: LadderSource, rungs: readonly HlsRungSpec[]): PlannedRung[] {
  if (source.width <= 0 || source.height <= 0) throw new Error(`invalid source size ${source.width}x${source.height}`);
  const portrait = source.height > source.width;
  const planned: PlannedRung[] = [];
  for (const rung of [...rungs].sort((a, b) => a.height - b.height)) {
    const boxShort = rung.height;
    const boxLong = toEven((rung.height * 16) / 9);
    const boxWidth = portrait ? boxShort : boxLong;
    const boxHeight = portrait ? boxLong : boxShort;
    const scale = Math.min(boxWidth / source.width, boxHeight / source.height, 1);
    const width = Math.min(toEven(source.width * scale), floorEven(source.width));
    const height = Math.min(toEven(source.height * scale), floorEven(source.height));
    const native = scale >= 1;
    const previous = planned.at(-1);
    if (previous && previous.width === width && previous.height === height) {
      if (native) previous.native = true;
      if (native) break;
      continue;
    }
    const videoKbps = rungBitrate(rung.videoKbps, (width * height) / (boxWidth * boxHeight), source.bitRate);
    planned.push({
      name: uniqueName(`${Math.min(width, height)}p`, planned),
      width,
      height,
      videoKbps,
      maxrateKbps: Math.round(videoKbps * MAXRATE_FACTOR),
      bufsizeKbps: Math.round(videoKbps * BUFSIZE_FACTOR),
      audioKbps: rung.audioKbps,
      native,
    });
    if (native) break;
  }
  return planned;
}

/** The rung's bitrate scaled to the share of its box the picture fills, capped by the source's bitrate. */
function rungBitrate(rungKbps: number, boxShare: number, sourceBitRate: number | undefined): number {
  let kbps = rungKbps * Math.min(1, Math.max(MIN_BITRATE_SHARE, boxShare));
  if (sourceBitRate !== undefined && sourceBitRate > 0)
    kbps = Math.min(kbps, Math.max(MIN_VIDEO_KBPS, (sourceBitRate / 1000) * SOURCE_BITRATE_HEADROOM));
  return Math.max(MIN_VIDEO_KBPS, Math.round(kbps));
}

function uniqueName(name: string, taken: readonly PlannedRung[]): string {
  let candidate = name;
  for (let suffix = 2; taken.some((rung) => rung.name === candidate); suffix += 1) candidate = `${name}-${suffix}`;
  return candidate;
}

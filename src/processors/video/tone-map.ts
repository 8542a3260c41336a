import type { HdrTransfer, VideoStreamProbe } from "../../media/ffprobe.ts";

/**
 * HDR → SDR BT.709 tone mapping (pure), shared by the ladder, the web MP4, the poster and the
 * storyboard so all four show the same picture. Phone video is HDR by default (iPhone: HEVC
 * 10-bit HLG / Dolby Vision 8.4; many Androids: HDR10 PQ); encoded as 8-bit BT.709 H.264
 * without conversion it looks washed out and dim, and its BT.2020 colours come out pale.
 */
export interface ToneMapSource {
  hdr: HdrTransfer;
  /** zscale names of the source's primaries, matrix and range (from the probe, defaulted). */
  primaries: string;
  matrix: string;
  range: "tv" | "pc";
}

/** ffprobe tag values that zscale (zimg) accepts under the same name; anything else falls back to the HDR default. */
const ZSCALE_PRIMARIES = new Set(["bt2020", "bt709", "smpte432", "smpte431", "smpte170m", "bt470bg"]);
const ZSCALE_MATRICES = new Set(["bt2020nc", "bt2020c", "bt709", "smpte170m", "bt470bg"]);

/**
 * What the tone map needs to know about the source, or undefined for SDR. HDR video is
 * BT.2020 non-constant-luminance, limited range in practice, so a missing tag means that.
 * The values end up in a filter graph, so only names from a fixed list are passed on.
 */
export function toneMapSourceOf(
  video: Pick<VideoStreamProbe, "hdr" | "colorPrimaries" | "colorSpace" | "colorRange">,
): ToneMapSource | undefined {
  if (!video.hdr) return undefined;
  return {
    hdr: video.hdr,
    primaries: video.colorPrimaries && ZSCALE_PRIMARIES.has(video.colorPrimaries) ? video.colorPrimaries : "bt2020",
    matrix: video.colorSpace && ZSCALE_MATRICES.has(video.colorSpace) ? video.colorSpace : "bt2020nc",
    range: video.colorRange === "pc" ? "pc" : "tv",
  };
}

const ZSCALE_TRANSFER: Record<HdrTransfer, string> = { pq: "smpte2084", hlg: "arib-std-b67" };

/**
 * The filter chain (no labels) that turns HDR frames into 8-bit BT.709 limited-range yuv420p:
 * to linear light in 32-bit float (1.0 = 100 nits) with BT.709 primaries, the Möbius curve
 * (linear below its knee, highlights roll off instead of clipping; desat=0 keeps bright
 * colours), then the BT.709 transfer and matrix. Möbius rather than Hable: HDR reference white
 * (203 nits PQ, 75 % HLG) lands at luma 218 of 235, near SDR white, where Hable puts it at 181
 * and dims the mid-tones. The usual recipe converts the primaries in a zscale of their own;
 * doing it in the first one gives identical pixels (PSNR inf) for 13 % less CPU. The input's
 * transfer, primaries, matrix and range are named
 * rather than read from the frames: zscale fails with "no path between colorspaces" on frames
 * that arrive without them, so the probe's tags are what counts.
 *
 * It costs float maths per pixel, so callers place it after their downscale, and only once.
 */
export function toneMapFilters(source: ToneMapSource): string {
  return [
    `zscale=tin=${ZSCALE_TRANSFER[source.hdr]}:pin=${source.primaries}:min=${source.matrix}:rin=${source.range}:t=linear:p=bt709:npl=100`,
    "format=gbrpf32le",
    "tonemap=tonemap=mobius:desat=0",
    "zscale=t=bt709:m=bt709:r=tv",
    "format=yuv420p",
  ].join(",");
}

/**
 * Encoder options that tag tone-mapped output as BT.709 in the H.264 VUI. ffmpeg 5.1 already
 * takes the tags from the filtered frames (bt709 after zscale), but without tone mapping it
 * copies the source's bt2020/smpte2084 tags; naming them keeps SDR pixels from ever being
 * labelled HDR if a filter change dropped the frame properties.
 */
export const BT709_TAGS: readonly string[] = [
  "-color_primaries",
  "bt709",
  "-color_trc",
  "bt709",
  "-colorspace",
  "bt709",
  "-color_range",
  "tv",
];

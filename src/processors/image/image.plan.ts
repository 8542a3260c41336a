import type { PngOptions } from "sharp";
import type { AppConfig } from "../../config/config.ts";

/**
 * Which image variants to make, decided from the source's header alone (pure, unit-tested).
 * The pipeline decodes the source twice at most: once at full size for the optimized original
 * and once, shrunk on load, to the largest web size from which every smaller variant is cut.
 */
export type EncodeFormat = "jpeg" | "png" | "webp" | "avif" | "gif";

export interface VariantPlan {
  name: string;
  variant: string;
  format: EncodeFormat;
  /** Bounding box; undefined keeps the source size. */
  maxDimension: number | undefined;
  source: "full" | "web";
  animated: boolean;
  /** PNG only: written as a palette image (only when the source is one, so no colour is lost). */
  palette: boolean;
}

export interface SourceFacts {
  format: string;
  width: number;
  height: number;
  pages: number;
  hasAlpha: boolean;
  /** The source stores palette indices (an 8-bit PNG or a GIF): at most 256 colours. */
  isPalette?: boolean;
}

export const EXTENSION: Record<EncodeFormat, string> = {
  jpeg: "jpg",
  png: "png",
  webp: "webp",
  avif: "avif",
  gif: "gif",
};
export const CONTENT_TYPE: Record<EncodeFormat, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  gif: "image/gif",
};

/**
 * Only GIF and WebP frames are an animation (an APNG arrives here already turned into an
 * animated WebP). Other formats with several pages are stills with extra pages: a multi-page
 * fax TIFF, a HEIF/AVIF collection or burst whose primary item need not be the first. They use
 * one page (the primary one) and record the page count; treating them as frames failed ("page
 * 1 differs from page 0") or stacked same-size pages into one tall strip.
 */
export const ANIMATION_FORMATS: ReadonlySet<string> = new Set(["gif", "webp"]);
export const isAnimation = (source: Pick<SourceFacts, "format" | "pages">): boolean =>
  source.pages > 1 && ANIMATION_FORMATS.has(source.format);

/** The optimized original keeps the source's family: lossless stays lossless, animation stays. */
export function optimizedFormat(source: SourceFacts): EncodeFormat {
  if (source.format === "gif") return isAnimation(source) ? "gif" : source.hasAlpha ? "png" : "jpeg";
  if (source.format === "png") return "png";
  if (source.format === "webp") return "webp";
  return source.hasAlpha ? "png" : "jpeg";
}

export function planVariants(source: SourceFacts, image: AppConfig["image"]): VariantPlan[] {
  const animated = isAnimation(source);
  const thumbnails: VariantPlan[] = (["small", "medium", "large"] as const).map((size) => ({
    name: `thumb_${size}.webp`,
    variant: `thumb_${size}`,
    format: "webp",
    maxDimension: image.thumbnailSizes[size],
    source: "web",
    animated: false,
    palette: false,
  }));
  const optimized = optimizedFormat(source);
  const plans: VariantPlan[] = [
    ...thumbnails,
    {
      name: `optimized.${EXTENSION[optimized]}`,
      variant: "optimized",
      format: optimized,
      maxDimension: undefined,
      source: "full",
      animated,
      palette: optimized === "png" && source.isPalette === true,
    },
    {
      name: "webp.webp",
      variant: "webp",
      format: "webp",
      maxDimension: image.webMaxDimension,
      source: animated ? "full" : "web",
      animated,
      palette: false,
    },
  ];
  if (image.avifEnabled) {
    plans.push({
      name: "avif.avif",
      variant: "avif",
      format: "avif",
      maxDimension: image.webMaxDimension,
      source: "web",
      animated: false,
      palette: false,
    });
  }
  return plans;
}

/**
 * PNG encoder settings of the optimized original. Lossless unless the source is itself a
 * palette image. Any sharp PNG `effort`, `quality`, `colours` or `dither` turns on libimagequant:
 * it used to quantise every PNG to 256 colours (SSIMULACRA2 64.7 on a 12 MP render with alpha,
 * 89.5 on a screenshot) at ~11 of the image's 15 CPU-seconds. A palette source's ≤ 256 colours
 * quantise exactly (pixel for pixel), and palette images compress best unfiltered. Truecolour
 * is written lossless at zlib level 6 with adaptive filtering: level 9 cost ~4× the CPU for
 * 8 % fewer bytes on the bench's 12 MP PNG (bench/areas/images.bench.ts, per-variant costs).
 */
export function pngOptions(palette: boolean): PngOptions {
  return palette
    ? { palette: true, effort: 7, compressionLevel: 9, adaptiveFiltering: false }
    : { palette: false, compressionLevel: 6, adaptiveFiltering: true };
}

/**
 * Sources at most this large are decoded once when {@link decodesOnce} allows: 24 MP of RGBA is
 * 96 MB held for the job, where the streaming re-decode of the optimized original holds a few rows.
 */
export const DECODE_ONCE_MAX_PIXELS = 24_000_000;

/**
 * Whether the source is decoded once, at full size, for both the optimized original and the web
 * decode (issue 20). Only for 8-bit still PNGs without an ICC profile: libvips cannot shrink a
 * PNG on load, so its web decode is a full decode too, and the two were ~0.5 of a 12 MP
 * transparent PNG's ~9 cpu-s (bench/areas/images.bench.ts, per-variant costs). A JPEG keeps its
 * cheap shrink-on-load web decode; an ICC profile stays on the optimized original only through
 * the decode from the file; 16-bit PNGs (rare) keep the path they had. The pixels are the same; the
 * optimized PNG from a raw decode carries no pHYs (density) chunk, which browsers ignore.
 */
export function decodesOnce(
  facts: Pick<SourceFacts, "format" | "pages" | "width" | "height"> & {
    hasIccProfile: boolean;
    bitDepth: string | undefined;
  },
): boolean {
  return (
    facts.format === "png" &&
    facts.pages === 1 &&
    !facts.hasIccProfile &&
    facts.bitDepth === "uchar" &&
    facts.width * facts.height <= DECODE_ONCE_MAX_PIXELS
  );
}

/** Size of an image after fitting inside a square box without enlarging (sharp's `inside`). */
export function fitInside(
  width: number,
  height: number,
  maxDimension: number | undefined,
): { width: number; height: number } {
  if (maxDimension === undefined || (width <= maxDimension && height <= maxDimension)) return { width, height };
  const scale = Math.min(maxDimension / width, maxDimension / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** EXIF orientations 5–8 turn the image by 90°, so the displayed size swaps width and height. */
export function displayedSize(
  width: number,
  height: number,
  orientation: number | undefined,
): { width: number; height: number } {
  return orientation !== undefined && orientation >= 5 && orientation <= 8
    ? { width: height, height: width }
    : { width, height };
}

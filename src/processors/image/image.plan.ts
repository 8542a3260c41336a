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
}

export interface SourceFacts {
  format: string;
  width: number;
  height: number;
  pages: number;
  hasAlpha: boolean;
}

export const EXTENSION: Record<EncodeFormat, string> = { jpeg: "jpg", png: "png", webp: "webp", avif: "avif", gif: "gif" };
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
export const isAnimation = (source: Pick<SourceFacts, "format" | "pages">): boolean => source.pages > 1 && ANIMATION_FORMATS.has(source.format);

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
  }));
  const optimized = optimizedFormat(source);
  const plans: VariantPlan[] = [
    ...thumbnails,
    { name: `optimized.${EXTENSION[optimized]}`, variant: "optimized", format: optimized, maxDimension: undefined, source: "full", animated },
    { name: "webp.webp", variant: "webp", format: "webp", maxDimension: image.webMaxDimension, source: animated ? "full" : "web", animated },
  ];
  if (image.avifEnabled) {
    plans.push({ name: "avif.avif", variant: "avif", format: "avif", maxDimension: image.webMaxDimension, source: "web", animated: false });
  }
  return plans;
}

/** Size of an image after fitting inside a square box without enlarging (sharp's `inside`). */
export function fitInside(width: number, height: number, maxDimension: number | undefined): { width: number; height: number } {
  if (maxDimension === undefined || (width <= maxDimension && height <= maxDimension)) return { width, height };
  const scale = Math.min(maxDimension / width, maxDimension / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** EXIF orientations 5–8 turn the image by 90°, so the displayed size swaps width and height. */
export function displayedSize(width: number, height: number, orientation: number | undefined): { width: number; height: number } {
  return orientation !== undefined && orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

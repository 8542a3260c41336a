import exifReader from "exif-reader";
import type { Metadata } from "sharp";

/** What the job result tells about a source image; EXIF is read, never passed on to outputs. */
export interface ImageFacts {
  format: string;
  /** For HEIF containers: `hevc` (HEIC) or `av1` (AVIF). */
  compression: string | undefined;
  width: number;
  height: number;
  orientation: number | undefined;
  /** Pages, frames or top-level images in the file; only GIF/WebP/APNG frames are an animation. */
  pages: number;
  /** HEIF/AVIF: the index of the primary image, the one the outputs show (it need not be the first). */
  pagePrimary: number | undefined;
  hasAlpha: boolean;
  /** Stored as palette indices (8-bit PNG, GIF): the optimized PNG then stays a palette PNG. */
  isPalette: boolean;
  colourSpace: string | undefined;
  channels: number | undefined;
  bitDepth: string | undefined;
  hasIccProfile: boolean;
  density: number | undefined;
  exif: {
    camera: string | undefined;
    lens: string | undefined;
    takenAt: string | undefined;
    hasGps: boolean;
  };
}

export function describeImage(metadata: Metadata, displayed: { width: number; height: number }): ImageFacts {
  return {
    format: metadata.format ?? "unknown",
    compression: metadata.compression,
    width: displayed.width,
    height: displayed.height,
    orientation: metadata.orientation,
    pages: metadata.pages ?? 1,
    pagePrimary: metadata.pagePrimary,
    hasAlpha: metadata.hasAlpha ?? false,
    isPalette: metadata.isPalette ?? false,
    colourSpace: metadata.space,
    channels: metadata.channels,
    bitDepth: metadata.depth,
    hasIccProfile: metadata.icc !== undefined,
    density: metadata.density,
    exif: readExif(metadata.exif),
  };
}

function readExif(buffer: Buffer | undefined): ImageFacts["exif"] {
  const empty = { camera: undefined, lens: undefined, takenAt: undefined, hasGps: false };
  if (!buffer) return empty;
  try {
    const exif = exifReader(buffer);
    const make = text(exif.Image?.Make);
    const model = text(exif.Image?.Model);
    const camera = make && model && !model.startsWith(make) ? `${make} ${model}` : (model ?? make);
    const lens = text(exif.Photo?.LensModel) ?? text(exif.Photo?.LensMake);
    const taken = exif.Photo?.DateTimeOriginal ?? exif.Image?.DateTime;
    const gps = exif.GPSInfo;
    return {
      camera,
      lens,
      takenAt: taken instanceof Date && !Number.isNaN(taken.getTime()) ? taken.toISOString() : undefined,
      hasGps: gps !== undefined && Object.keys(gps).length > 0,
    };
  } catch {
    // Broken EXIF is common (edited files, truncated APP1): report none rather than fail the image.
    return empty;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.replace(/\0+$/, "").trim() : undefined;
}

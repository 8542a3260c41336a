import sharp from "sharp";
import { processingError } from "../../errors.ts";

export interface CoverOptions {
  maxDimension: number;
  /** Same decompression-bomb cap as the image processor (MAX_IMAGE_PIXELS). */
  maxPixels: number;
  jpegQuality: number;
}

export interface CoverImage {
  jpeg: Buffer;
  width: number;
  height: number;
}

/**
 * Turns embedded cover art into a JPEG no larger than `maxDimension`. Cover bytes come from the
 * upload, so they get the image processor's precautions: the header is read first and a
 * declared size over the pixel cap is refused before any decoding, and corrupt data fails
 * rather than yielding a half-grey image.
 */
export async function renderCover(bytes: Uint8Array, options: CoverOptions): Promise<CoverImage> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sharpOptions = { limitInputPixels: options.maxPixels, failOn: "error" as const };
  // The header read is uncapped so an oversized picture is reported as such, not as unreadable.
  const metadata = await sharp(input, { limitInputPixels: false, failOn: "error" })
    .metadata()
    .catch((error: unknown) => {
      throw processingError("cover-unreadable", "embedded cover art is not a readable image", error);
    });
  const { width, height, format } = metadata;
  if (!width || !height) throw processingError("cover-unreadable", "embedded cover art has no dimensions");
  if (format === "svg") throw processingError("cover-unsupported", "SVG cover art is not rendered");
  if (width * height > options.maxPixels) {
    throw processingError(
      "cover-too-large",
      `embedded cover art declares ${width}x${height} pixels, over MAX_IMAGE_PIXELS`,
    );
  }
  try {
    const { data, info } = await sharp(input, sharpOptions)
      .rotate()
      .resize({ width: options.maxDimension, height: options.maxDimension, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .jpeg({ quality: options.jpegQuality, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: data, width: info.width, height: info.height };
  } catch (error) {
    throw processingError("cover-unreadable", "embedded cover art could not be decoded", error);
  }
}

import type { Sharp } from "sharp";
import { rgbaToThumbHash } from "thumbhash";

/**
 * A ThumbHash (https://evanw.github.io/thumbhash/) is ~25 bytes that decode to a blurred
 * preview with the right aspect ratio and alpha; clients show it before the thumbnail loads.
 */
export async function thumbHashOf(image: Sharp): Promise<string> {
  const { data, info } = await image
    .clone()
    .resize(100, 100, { fit: "inside" })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString("base64");
}

export async function dominantColourOf(image: Sharp): Promise<string> {
  const { dominant } = await image.clone().stats();
  const hex = (value: number) => value.toString(16).padStart(2, "0");
  return `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`;
}
